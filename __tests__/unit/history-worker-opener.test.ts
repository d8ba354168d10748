/**
 * workerHistoryOpener ⇄ serveHistoryOpener over real MessagePorts (Node's structured clone, as
 * between a page and its Web Worker; non-extractable CryptoKeys cross as keys, never as bytes):
 * a page of stored envelopes opens to the same results as in this thread, every signature checked
 * (a tampered envelope is rejected, the others read); a worker that fails, cannot start or is not
 * started yet leaves the page to this thread, with the same results and nothing lost.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { encodeChatPayload, encryptMessage, generateIdentity, generateRoomKey, type Identity } from "@/lib/crypto";
import type { HistoryMessage } from "@/lib/protocol";
import { openJobs, type OpenJob } from "@/lib/client/chat/history-opener";
import { workerHistoryOpener, type HistoryWorkerLike } from "@/lib/client/history-worker-opener";
import { serveHistoryOpener, type HistoryWorkerRequest, type HistoryWorkerScopeLike } from "@/lib/client/history-opener.worker";

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** A Worker stand-in: the opener's side of a MessageChannel, served in this thread on the other side. */
function portWorker(seen: HistoryWorkerRequest[] = []): HistoryWorkerLike & { fire(type: "error"): void } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const scope: HistoryWorkerScopeLike = {
    postMessage: (m) => port2.postMessage(m),
    addEventListener: (_type, fn) =>
      port2.on("message", (data: HistoryWorkerRequest) => {
        seen.push(data);
        fn({ data } as MessageEvent<HistoryWorkerRequest>);
      }),
  };
  serveHistoryOpener(scope);
  const errorListeners: ((ev: Event) => void)[] = [];
  return {
    postMessage: (m) => port1.postMessage(m),
    addEventListener: ((type: string, fn: (ev: { data: unknown }) => void) => {
      if (type === "message") port1.on("message", (data) => fn({ data }));
      if (type === "error") errorListeners.push(fn as unknown as (ev: Event) => void);
    }) as HistoryWorkerLike["addEventListener"],
    terminate: () => {
      port1.close();
      port2.close();
    },
    fire: () => errorListeners.forEach((fn) => fn(new Event("error"))),
  };
}

const ROOM = "hist-worker";
const EPOCH = 3;

async function page(n: number): Promise<{ identity: Identity; key: CryptoKey; jobs: OpenJob[] }> {
  const identity = await generateIdentity();
  const { key } = await generateRoomKey();
  const jobs: OpenJob[] = [];
  for (let i = 0; i < n; i++) {
    const enc = await encryptMessage(
      identity,
      key,
      { roomId: ROOM, epoch: EPOCH, senderId: identity.userId, counter: i },
      encodeChatPayload({ text: `m${i}`, sentAt: i }),
    );
    const env: HistoryMessage = {
      id: `id${i}`,
      roomId: ROOM,
      from: identity.userId,
      to: null,
      epoch: EPOCH,
      counter: i,
      ...enc,
      ts: new Date(i).toISOString(),
      cursor: i + 1,
    };
    jobs.push({ env, keys: [0], signingKey: identity.signingKey, expect: { roomId: ROOM, epoch: EPOCH } });
  }
  return { identity, key, jobs };
}

/** Flips one character of an envelope's ciphertext (the server, or someone with its disk, tampering). */
function tamper(job: OpenJob): OpenJob {
  const ct = job.env.ciphertext;
  const c = ct[10] === "A" ? "B" : "A";
  return { ...job, env: { ...job.env, ciphertext: ct.slice(0, 10) + c + ct.slice(11) } };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

test("a page opened in the worker reads as in this thread: every envelope verified and decrypted, a tampered one rejected", async () => {
  const { key, jobs } = await page(40);
  jobs[17] = tamper(jobs[17]);
  // Another room's epoch expected for one: the check runs in the worker too.
  jobs[23] = { ...jobs[23], expect: { roomId: ROOM, epoch: EPOCH + 1 } };
  const seen: HistoryWorkerRequest[] = [];
  const opener = workerHistoryOpener(() => portWorker(seen), 2, 1);
  opener.warm!();
  const results = await opener.open(jobs, [key]);
  expect(seen.filter((r) => r.op === "open")).toHaveLength(1); // one message for the whole page
  expect(results).toEqual(await openJobs(jobs, [key]));
  expect(results.filter((r) => r.ok)).toHaveLength(38);
  expect(results[0]).toEqual({ ok: true, text: "m0" });
  expect(results[17]).toEqual({ ok: false, reason: expect.stringMatching(/signature/i) });
  expect(results[23]).toEqual({ ok: false, reason: expect.stringMatching(/epoch/i) });
  opener.close!();
});

test("a large page is split across the workers, one message each, and reads back whole and in order", async () => {
  const { key, jobs } = await page(120);
  jobs[101] = tamper(jobs[101]);
  const seen: HistoryWorkerRequest[] = [];
  const opener = workerHistoryOpener(() => portWorker(seen), 2, 1);
  opener.warm!();
  const results = await opener.open(jobs, [key]);
  expect(seen.map((r) => r.jobs.length)).toEqual([60, 60]);
  expect(results).toEqual(await openJobs(jobs, [key]));
  expect(results.map((r, i) => (r.ok ? r.text : `x${i}`))).toEqual(jobs.map((_, i) => (i === 101 ? "x101" : `m${i}`)));
  opener.close!();
});

test("a small page (the scroll path's 200) is opened in this thread even with workers running", async () => {
  const { key, jobs } = await page(20);
  const seen: HistoryWorkerRequest[] = [];
  const opener = workerHistoryOpener(() => portWorker(seen), 2, 50);
  opener.warm!();
  expect(await opener.open(jobs, [key])).toEqual(await openJobs(jobs, [key]));
  expect(seen).toEqual([]);
  opener.close!();
});

test("before warm(), after the worker fails, and when it cannot start, pages open in this thread with the same results", async () => {
  const { key, jobs } = await page(12);
  jobs[3] = tamper(jobs[3]);
  const expected = await openJobs(jobs, [key]);

  // Not warmed: no worker at all.
  let spawned = 0;
  const cold = workerHistoryOpener(
    () => {
      spawned++;
      return portWorker();
    },
    2,
    1,
  );
  expect(await cold.open(jobs, [key])).toEqual(expected);
  expect(spawned).toBe(0);

  // A worker that fails while it holds a page: the page is opened here instead, and so are later ones.
  const seen: HistoryWorkerRequest[] = [];
  let w: ReturnType<typeof portWorker> | null = null;
  const failing = workerHistoryOpener(
    () => {
      // The stand-in takes pages and never answers.
      const inner = portWorker(seen);
      w = inner;
      return { ...inner, postMessage: (m) => void seen.push(m) };
    },
    2,
    1,
  );
  failing.warm!();
  const held = failing.open(jobs, [key]);
  await until(() => seen.some((r) => r.op === "open"));
  w!.fire("error");
  expect(await held).toEqual(expected);
  expect(await failing.open(jobs, [key])).toEqual(expected);
  expect(seen.filter((r) => r.op === "open")).toHaveLength(1);

  // A worker that cannot start at all.
  const broken = workerHistoryOpener(
    () => {
      throw new Error("no workers here");
    },
    2,
    1,
  );
  broken.warm!();
  expect(await broken.open(jobs, [key])).toEqual(expected);
});
