/**
 * createWorkerEngine ⇄ serveQkdEngine over real MessagePorts (Node's structured clone and transfer
 * lists, as between a page and its Web Worker): a full BB84 session between two worker-backed
 * engines yields the same key on both sides, Eve at f = 1 aborts with QBER_TOO_HIGH, and failures
 * reach the caller as rejected promises instead of hanging.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { QkdEngine, QkdSnapshot } from "@/lib/client/bb84-types";
import { createLocalEngine } from "@/lib/client/qkd-engine";
import { createWorkerEngine, type QkdWorkerRequest, type WorkerLike } from "@/lib/client/qkd-worker-engine";
import { framedParty, type FramedParty, type FramedStep, type FrameSetup } from "@/lib/client/bb84-transport";
import { serveQkdEngine } from "@/lib/client/qkd.worker";
import { portWorker } from "../helpers/qkd-workers";

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

const sessionId = () => crypto.getRandomValues(new Uint8Array(16));

/** Runs Alice and Bob to the end, passing messages in order, as the chat client does. */
async function run(alice: QkdEngine, bob: QkdEngine): Promise<{ a: QkdSnapshot; b: QkdSnapshot }> {
  const toBob: Uint8Array[] = [];
  const toAlice: Uint8Array[] = [];
  let step = await alice.start();
  let a = step.snapshot;
  let b = (await bob.start()).snapshot;
  toBob.push(...step.out);
  for (let guard = 0; guard < 10_000 && (toBob.length || toAlice.length); guard++) {
    if (toBob.length) {
      step = await bob.receive(toBob.shift()!);
      b = step.snapshot;
      toAlice.push(...step.out);
    } else {
      step = await alice.receive(toAlice.shift()!);
      a = step.snapshot;
      toBob.push(...step.out);
    }
  }
  return { a, b };
}

describe("Web Worker QKD engine (over MessagePorts)", () => {
  test("a session with no eavesdropper ends with the same key on both sides", async () => {
    const id = sessionId();
    const params = { qubits: 16_384 };
    const alice = createWorkerEngine({ role: "alice", sessionId: id, params }, { spawn: () => portWorker(ports) });
    const bob = createWorkerEngine({ role: "bob", sessionId: id, params, channel: { noise: 0.02, loss: 0, eve: 0 } }, { spawn: () => portWorker(ports) });
    const { a, b } = await run(alice, bob);
    expect(a.status).toBe("done");
    expect(b.status).toBe("done");
    expect(a.finalLength).toBeGreaterThan(256);
    expect(b.qberEstimate).not.toBeNull();
    expect(b.eve).toEqual(expect.objectContaining({ intercepted: 0 }));
    const ka = await alice.key();
    const kb = await bob.key();
    expect(ka).toBeInstanceOf(Uint8Array);
    expect(ka!.length).toBe(Math.ceil(a.finalLength! / 8));
    expect(Buffer.from(kb!).equals(Buffer.from(ka!))).toBe(true);
    alice.dispose();
    bob.dispose();
  });

  test("an intercept-resend eavesdropper on every qubit aborts the session with QBER_TOO_HIGH", async () => {
    const id = sessionId();
    const params = { qubits: 16_384 };
    const alice = createWorkerEngine({ role: "alice", sessionId: id, params }, { spawn: () => portWorker(ports) });
    const bob = createWorkerEngine({ role: "bob", sessionId: id, params, channel: { noise: 0, loss: 0, eve: 1 } }, { spawn: () => portWorker(ports) });
    const { a, b } = await run(alice, bob);
    expect(a.status).toBe("aborted");
    expect(b.status).toBe("aborted");
    expect([a.abort?.code, b.abort?.code]).toContain("QBER_TOO_HIGH");
    expect(b.qberEstimate!).toBeGreaterThan(b.qberThreshold);
    expect(b.eve!.intercepted).toBeGreaterThan(0);
    expect(await alice.key()).toBeNull();
    alice.dispose();
    bob.dispose();
  });

  test("the caller's message is not detached, and the worker gets an exact-size copy", async () => {
    const seen: QkdWorkerRequest[] = [];
    const id = sessionId();
    const alice = createLocalEngine({ role: "alice", sessionId: id, params: { qubits: 4096 } });
    const bob = createWorkerEngine(
      { role: "bob", sessionId: id, params: { qubits: 4096 }, channel: { noise: 0, loss: 0, eve: 0 } },
      { spawn: () => portWorker(ports, createLocalEngine, { seen }) },
    );
    const hello = (await alice.start()).out[0];
    // A view into a larger buffer, as a decrypted frame may be.
    const big = new Uint8Array(hello.length + 64);
    big.set(hello, 32);
    const view = big.subarray(32, 32 + hello.length);
    await bob.receive(view);
    expect(view.byteLength).toBe(hello.length);
    expect(big.buffer.byteLength).toBe(hello.length + 64);
    const sent = seen.find((r) => r.op === "receive") as Extract<QkdWorkerRequest, { op: "receive" }>;
    expect(sent.message.buffer.byteLength).toBe(hello.length);
    bob.dispose();
  });

  test("bad parameters, engine errors and dispose reject the caller's promise (no hang)", async () => {
    const bad = createWorkerEngine({ role: "alice", sessionId: sessionId(), params: { qubits: 3 } }, { spawn: () => portWorker(ports) });
    await expect(bad.start()).rejects.toThrow(/qubits/);
    bad.dispose();

    const throwing = createWorkerEngine(
      { role: "alice", sessionId: sessionId(), params: {} },
      {
        spawn: () =>
          portWorker(ports, () => ({
            start: async () => {
              throw new Error("boom");
            },
            receive: async () => {
              throw new Error("boom");
            },
            abort: async () => {
              throw new Error("boom");
            },
            key: async () => null,
            dispose: () => undefined,
          })),
      },
    );
    await expect(throwing.start()).rejects.toThrow("boom");
    await expect(throwing.key()).resolves.toBeNull();
    throwing.dispose();
    await expect(throwing.start()).rejects.toThrow(/disposed/);

    // A request still in flight when the engine is disposed fails rather than waiting forever.
    const slow = createWorkerEngine(
      { role: "alice", sessionId: sessionId(), params: {} },
      {
        spawn: () =>
          portWorker(ports, () => ({
            ...createLocalEngine({ role: "alice", sessionId: sessionId(), params: { qubits: 4096 } }),
            start: () => new Promise(() => undefined),
          })),
      },
    );
    const pending = slow.start();
    await new Promise((r) => setTimeout(r, 20));
    slow.dispose();
    await expect(pending).rejects.toThrow(/disposed/);
  });

  describe("framed: the frame codec runs in the worker (sealed frames in, sealed frames out)", () => {
    async function frameKey(): Promise<CryptoKey> {
      return crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), "AES-GCM", false, ["encrypt", "decrypt"]);
    }
    const ctx = (from: string, to: string) => ({ roomId: "room", sessionId: "s1", from, to });

    /** Passes the sealed frames between two parties until neither has any left to send. */
    async function runFramed(alice: FramedParty, bob: FramedParty) {
      const toBob: Uint8Array[] = [];
      const toAlice: Uint8Array[] = [];
      const last: { a: FramedStep | null; b: FramedStep | null } = { a: await alice.start(), b: await bob.start() };
      toBob.push(...last.a!.frames);
      for (let guard = 0; guard < 10_000 && (toBob.length || toAlice.length); guard++) {
        if (toBob.length) {
          const st = await bob.receiveFrame(toBob.shift()!);
          if (st.kind === "step") last.b = st;
          toAlice.push(...st.frames);
        } else {
          const st = await alice.receiveFrame(toAlice.shift()!);
          if (st.kind === "step") last.a = st;
          toBob.push(...st.frames);
        }
      }
      return last;
    }

    test("a worker party (the key cloned into it) and an in-thread party agree on a key; a tampered frame is named, not handed to the engine", async () => {
      const key = await frameKey();
      const id = sessionId();
      const params = { qubits: 16_384 };
      const setupA: FrameSetup = { key, tx: ctx("a", "b"), rx: ctx("b", "a") };
      const setupB: FrameSetup = { key, tx: ctx("b", "a"), rx: ctx("a", "b") };
      const aliceEngine = createWorkerEngine({ role: "alice", sessionId: id, params }, { spawn: () => portWorker(ports) });
      const bobEngine = createLocalEngine({ role: "bob", sessionId: id, params, channel: { noise: 0.02, loss: 0, eve: 0 } });
      const alice = aliceEngine.framed!(setupA);
      const bob = framedParty(bobEngine, setupB);
      const last = await runFramed(alice, bob);
      expect(last.a?.kind === "step" && last.a.snapshot.status).toBe("done");
      expect(last.b?.kind === "step" && last.b.snapshot.status).toBe("done");
      const ka = await aliceEngine.key();
      expect(Buffer.from(ka!).equals(Buffer.from((await bobEngine.key())!))).toBe(true);
      aliceEngine.dispose();

      // A fresh pair: one flipped bit in the worker's inbound frame, and a frame sealed for another direction.
      const a2 = createWorkerEngine({ role: "alice", sessionId: id, params }, { spawn: () => portWorker(ports) }).framed!(setupA);
      const bobEngine2 = createLocalEngine({ role: "bob", sessionId: id, params, channel: { noise: 0, loss: 0, eve: 0 } });
      const b2 = framedParty(bobEngine2, setupB);
      const hello = (await a2.start()).frames[0];
      const bad = hello.slice();
      bad[bad.length - 1] ^= 1;
      await expect(b2.receiveFrame(bad)).resolves.toEqual(expect.objectContaining({ kind: "invalid", reason: expect.stringMatching(/failed authentication/) }));
      const ok = await b2.receiveFrame(hello);
      expect(ok.kind).toBe("step");
      await expect(b2.receiveFrame(hello)).resolves.toEqual(expect.objectContaining({ kind: "invalid", reason: expect.stringMatching(/replayed/) }));
      const own = (await b2.abort("CANCELLED", "test")).frames[0];
      // Bob's own frame back to Bob: sealed for the other direction, so it fails authentication.
      await expect(b2.receiveFrame(own)).resolves.toEqual(expect.objectContaining({ kind: "invalid" }));
    });

    test("the worker moves a socket's frame buffer instead of copying it", async () => {
      const seen: QkdWorkerRequest[] = [];
      const key = await frameKey();
      const id = sessionId();
      const sender = framedParty(createLocalEngine({ role: "alice", sessionId: id, params: { qubits: 4096 } }), { key, tx: ctx("a", "b"), rx: ctx("b", "a") });
      const bob = createWorkerEngine(
        { role: "bob", sessionId: id, params: { qubits: 4096 }, channel: { noise: 0, loss: 0, eve: 0 } },
        { spawn: () => portWorker(ports, createLocalEngine, { seen }) },
      ).framed!({ key, tx: ctx("b", "a"), rx: ctx("a", "b") });
      const frame = (await sender.start()).frames[0];
      const len = frame.byteLength;
      expect((await bob.receiveFrame(frame)).kind).toBe("step");
      expect(frame.byteLength).toBe(0); // transferred: detached here
      const sent = seen.find((r) => r.op === "frame") as Extract<QkdWorkerRequest, { op: "frame" }>;
      expect(sent.frame.byteLength).toBe(len);
    });
  });

  test("a disposed engine's worker is reset and serves the next session (pooled), answering only its new engine", async () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const seen: QkdWorkerRequest[] = [];
    serveQkdEngine({
      postMessage: (m, t) => port2.postMessage(m, t as never),
      addEventListener: (_type, fn) =>
        port2.on("message", (data: QkdWorkerRequest) => {
          seen.push(data);
          fn({ data } as MessageEvent<QkdWorkerRequest>);
        }),
    });
    const listeners = new Map<unknown, (data: unknown) => void>();
    const worker: WorkerLike = {
      postMessage: (m, t) => port1.postMessage(m, t as never),
      addEventListener: ((type: string, fn: (ev: { data: unknown }) => void) => {
        if (type !== "message") return;
        const l = (data: unknown) => fn({ data });
        listeners.set(fn, l);
        port1.on("message", l);
      }) as WorkerLike["addEventListener"],
      removeEventListener: ((type: string, fn: unknown) => {
        const l = listeners.get(fn);
        if (type === "message" && l) port1.off("message", l);
        listeners.delete(fn);
      }) as WorkerLike["removeEventListener"],
      terminate: () => port1.close(),
    };
    const released: WorkerLike[] = [];
    const release = (w: WorkerLike) => released.push(w);
    for (let round = 0; round < 2; round++) {
      const id = sessionId();
      const params = { qubits: 16_384 };
      const alice = createWorkerEngine({ role: "alice", sessionId: id, params }, { spawn: () => worker, release });
      const bob = createLocalEngine({ role: "bob", sessionId: id, params, channel: { noise: 0.02, loss: 0, eve: 0 } });
      const { a } = await run(alice, bob);
      expect(a.abort).toBeNull();
      expect(a.status).toBe("done");
      expect(Buffer.from((await alice.key())!).equals(Buffer.from((await bob.key())!))).toBe(true);
      alice.dispose();
      alice.dispose(); // twice: still released once
      await new Promise((r) => setTimeout(r, 20));
      expect(released).toHaveLength(round + 1);
      expect(released[round]).toBe(worker);
    }
    expect(seen.filter((r) => r.op === "reset")).toHaveLength(2);
    expect(seen.filter((r) => r.op === "init")).toHaveLength(2);
    // Request ids never repeat across the engines a worker served.
    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
