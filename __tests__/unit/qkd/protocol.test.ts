import { Alice } from "@/lib/qkd/alice";
import { Bob } from "@/lib/qkd/bob";
import { QuantumChannel } from "@/lib/qkd/channel";
import { binaryEntropy } from "@/lib/qkd/entropy";
import { evaluateSample } from "@/lib/qkd/estimate";
import { finiteKeyLength } from "@/lib/qkd/finite-key";
import { cascadeResponseParityCount, decodeMessage, MsgType } from "@/lib/qkd/messages";
import { runLocal } from "@/lib/qkd/run";
import { seededRandom } from "@/lib/qkd/rng";
import { CASCADE_VARIANTS } from "@/lib/qkd/cascade";

describe("runLocal (both parties in one process)", () => {
  it("distils identical keys at 2% noise and reports every stage", () => {
    const r = runLocal({ qubits: 200_000, noise: 0.02, seed: 1 });
    expect(r.ok).toBe(true);
    expect(r.abort).toBeNull();
    expect(r.keys.identical).toBe(true);
    expect(r.keys.alice!.length).toBe(r.finalKeyLength);
    expect(r.finalKeyLength).toBeGreaterThan(0);
    expect(r.detected).toBe(200_000);
    expect(Math.abs(r.sifted / r.detected - 0.5)).toBeLessThan(0.01);
    expect(r.testSampleSize + r.keyBits).toBe(r.sifted);
    expect(r.qber!.estimate).toBeGreaterThan(0.01);
    expect(r.qber!.estimate).toBeLessThan(0.03);
    expect(r.qber!.interval95[0]).toBeLessThanOrEqual(r.qber!.estimate);
    expect(r.qber!.interval95[1]).toBeGreaterThanOrEqual(r.qber!.estimate);
    expect(r.cascade!.errorsCorrected).toBe(r.cascade!.actualErrors);
    expect(r.cascade!.residualErrors).toBe(0);
    expect(r.verification).toEqual({ hashBits: 50, passed: true });
    for (const s of ["qubits", "sifting", "estimation", "cascade", "verification", "amplification"] as const) {
      expect(r.timings[s]).toBeGreaterThanOrEqual(0);
    }
  });

  it("ℓ is exactly the TLGR bound computed from the reported numbers, and never above it", () => {
    for (const [noise, seed] of [
      [0.01, 2],
      [0.03, 3],
      [0.05, 4],
    ] as const) {
      const r = runLocal({ qubits: 100_000, noise, seed });
      expect(r.ok).toBe(true);
      const fk = finiteKeyLength({
        n: r.keyBits,
        k: r.testSampleSize,
        qber: r.qber!.estimate,
        leakEC: r.cascade!.disclosedBits + 50,
        epsSec: 1e-10,
        epsCor: 1e-15,
      });
      expect(r.finiteKey.leakEC).toBe(r.cascade!.disclosedBits + 50);
      expect(r.finalKeyLength).toBe(fk.ell);
      expect(r.finalKeyLength).toBeLessThanOrEqual(fk.bound);
      expect(r.keys.alice!.length).toBe(fk.ell);
    }
  });

  it("counts as disclosed exactly the parities carried by the Cascade responses", () => {
    let parities = 0,
      packedBits = 0,
      requests = 0,
      responses = 0;
    const r = runLocal({
      qubits: 60_000,
      noise: 0.04,
      seed: 5,
      onMessage: (from, bytes) => {
        const m = decodeMessage(bytes);
        if (m.payload.type === MsgType.CascadeRequest) requests++;
        if (m.payload.type === MsgType.CascadeResponse) {
          expect(from).toBe("alice");
          responses++;
          const body = m.payload.body;
          parities += cascadeResponseParityCount(body);
          // Independent count: the packed parity field is the body's tail, ⌈nBits/8⌉ bytes.
          packedBits += body.length;
        }
      },
    });
    expect(r.ok).toBe(true);
    expect(r.cascade!.disclosedBits).toBe(parities);
    expect(requests).toBe(responses);
    expect(r.cascade!.roundTrips).toBe(requests);
    expect(packedBits * 8).toBeGreaterThanOrEqual(parities);
    expect(r.cascade!.fEC).toBeCloseTo(parities / (r.keyBits * binaryEntropy(r.qber!.actual!)), 12);
  });

  it("the abort reason shows percentages as the panel does (one decimal), with more only where one would read as the threshold", () => {
    const p = { epsSec: 1e-10, epsCor: 1e-15, qberThreshold: 0.11 };
    expect(evaluateSample(100_000, 10_000, 2_500, p).abort!.message).toBe("QBER 25.0% (2500/10000) exceeds the 11.0% threshold: suspected eavesdropping");
    // 11.04% is 11.0% at one decimal: shown with two.
    expect(evaluateSample(100_000, 10_000, 1_104, p).abort!.message).toMatch(/^QBER 11\.04% \(1104\/10000\) exceeds the 11\.0% threshold/);
    expect(evaluateSample(100_000, 10_000, 1_100, p).abort?.code).not.toBe("QBER_TOO_HIGH"); // at the threshold, not above
  });

  it("with f = 1 the QBER is ≈ 25% and the run aborts as suspected eavesdropping", () => {
    const r = runLocal({ qubits: 100_000, noise: 0, eve: 1, seed: 6 });
    expect(r.ok).toBe(false);
    expect(r.abort!.code).toBe("QBER_TOO_HIGH");
    expect(r.abort!.message).toMatch(/eavesdropping/);
    expect(Math.abs(r.qber!.estimate - 0.25)).toBeLessThan(5 * Math.sqrt((0.25 * 0.75) / r.testSampleSize));
    expect(r.cascade).toBeNull();
    expect(r.keys.alice).toBeNull();
    expect(r.keys.bob).toBeNull();
    expect(r.eve.siftedKnownFraction).toBeGreaterThan(0.45);
    expect(r.eve.siftedKnownFraction).toBeLessThan(0.55);
  });

  it("aborts before reconciliation when the finite-key bound leaves nothing", () => {
    const r = runLocal({ qubits: 2_000, noise: 0.02, seed: 7 });
    expect(r.ok).toBe(false);
    expect(r.abort!.code).toBe("KEY_TOO_SHORT");
    expect(r.cascade).toBeNull();
  });

  it("reports Eve's partial knowledge and her ignorance of the final key", () => {
    const r = runLocal({ qubits: 200_000, noise: 0.01, eve: 0.1, seed: 8 });
    expect(r.ok).toBe(true);
    expect(Math.abs(r.eve.siftedKnownFraction - 0.05)).toBeLessThan(0.01);
    expect(r.eve.finalKeyGuessAgreement).not.toBeNull();
    expect(Math.abs(r.eve.finalKeyGuessAgreement! - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / r.finalKeyLength));
    expect(r.eve.finalKeyInformationBound).toBeLessThan(1e-3);
  });

  it.each(CASCADE_VARIANTS)("works with Cascade variant %s", (variant) => {
    const r = runLocal({ qubits: 50_000, noise: 0.03, cascade: variant, seed: 9 });
    expect(r.ok).toBe(true);
    expect(r.keys.identical).toBe(true);
  });

  it("never ends with a silent mismatch: keys identical or aborted (1,000 runs across QBERs)", () => {
    const tally: Record<string, number> = {};
    let cascaded = 0,
      residual = 0,
      i = 0;
    for (const noise of [0.005, 0.02, 0.04, 0.06]) {
      for (const eve of [0, 0.1]) {
        for (let s = 0; s < 125; s++) {
          const r = runLocal({ qubits: 12_000, noise, eve, seed: 10_000 + i++, epsSec: 1e-3, chunkSize: 4096, params: { sampleDesignQber: 0.05 } });
          const key = r.ok ? "ok" : r.abort!.code;
          tally[key] = (tally[key] ?? 0) + 1;
          if (r.cascade) cascaded++;
          if (r.cascade?.residualErrors) residual++;
          if (r.ok) {
            expect(r.keys.alice!.equals(r.keys.bob!)).toBe(true);
          } else {
            expect(r.keys.alice).toBeNull();
            expect(r.keys.bob).toBeNull();
          }
          if (r.cascade?.residualErrors) expect(r.ok).toBe(false);
        }
      }
    }
    expect(i).toBe(1000);
    expect(cascaded).toBeGreaterThan(500); // most runs reach reconciliation and verification
    expect(tally.ok).toBeGreaterThan(400);
    expect(residual).toBe(tally.VERIFICATION_FAILED ?? 0);
  });
});

describe("state machines driven by hand", () => {
  function pair(seed: number) {
    const alice = new Alice({ params: { qubits: 50_000, chunkSize: 8192 }, rng: seededRandom(seed) });
    const bob = new Bob({ params: {}, rng: seededRandom(seed + 1), channel: new QuantumChannel({ noise: 0.02 }, seededRandom(seed + 2)) });
    return { alice, bob };
  }
  function exchange(alice: Alice, bob: Bob, tamper?: (from: "alice" | "bob", type: MsgType, bytes: Uint8Array) => Uint8Array | null) {
    const q: [Alice | Bob, Uint8Array][] = alice.start().map((m) => [bob, m]);
    while (q.length) {
      const [to, raw] = q.shift()!;
      const from = to === bob ? "alice" : "bob";
      const bytes = tamper ? tamper(from, decodeMessage(raw).payload.type, raw) : raw;
      if (bytes === null) continue;
      for (const m of to.receive(bytes)) q.push([to === bob ? alice : bob, m]);
    }
  }

  it("run to completion with identical keys and expose progress", () => {
    const { alice, bob } = pair(1);
    expect(alice.status).toBe("idle");
    exchange(alice, bob);
    expect(alice.status).toBe("done");
    expect(bob.status).toBe("done");
    expect(alice.progress).toEqual({ stage: "done", fraction: 1 });
    expect(alice.result.key!.equals(bob.result.key!)).toBe(true);
    expect(alice.result.sessionId).toBe(bob.result.sessionId);
  });

  it("a corrupted verification hash makes Bob abort with VERIFICATION_FAILED (and Alice learns it)", () => {
    const { alice, bob } = pair(2);
    exchange(alice, bob, (from, type, bytes) => {
      if (type !== MsgType.Verify) return bytes;
      const m = decodeMessage(bytes);
      if (m.payload.type !== MsgType.Verify) return bytes;
      m.payload.hash.flip(0);
      const { encodeMessage } = jest.requireActual("@/lib/qkd/messages");
      return encodeMessage(m);
    });
    expect(bob.status).toBe("aborted");
    expect(bob.result.abort!.code).toBe("VERIFICATION_FAILED");
    expect(alice.status).toBe("aborted");
    expect(alice.result.abort).toMatchObject({ code: "VERIFICATION_FAILED", by: "peer" });
    expect(alice.result.key).toBeNull();
  });

  it("a differing parameter set aborts with PARAMS_MISMATCH", () => {
    const alice = new Alice({ params: { qubits: 4096, epsSec: 1e-9 }, rng: seededRandom(3) });
    const bob = new Bob({ rng: seededRandom(4) });
    exchange(alice, bob);
    expect(bob.result.abort!.code).toBe("PARAMS_MISMATCH");
    expect(alice.result.abort).toMatchObject({ code: "PARAMS_MISMATCH", by: "peer" });
  });

  it("cancel() aborts and tells the peer", () => {
    const { alice, bob } = pair(5);
    const msgs = alice.start();
    bob.receive(msgs[0]);
    const out = bob.cancel("peer left");
    expect(bob.result.abort!.code).toBe("CANCELLED");
    expect(out).toHaveLength(1);
    alice.receive(out[0]);
    expect(alice.result.abort).toMatchObject({ code: "CANCELLED", by: "peer" });
  });
});
