/**
 * The step-by-step view's data against the engine: for the same seed, the walkthrough must show
 * exactly the qubits, bases, detections, sifting, test sample, Cascade leakage, hashes and final
 * key that runLocal's Alice and Bob put on the wire.
 */
import { BitArray, decodeMessage, MsgType, runLocal, type Message, type Payload } from "@/lib/qkd";
import { polarisation, runWalkthrough, WALKTHROUGH_MAX_QUBITS, WALKTHROUGH_MIN_QUBITS } from "@/lib/qkd/walkthrough";

const bits = (a: BitArray) => Array.from({ length: a.length }, (_, i) => a.get(i));

function engineMessages(opts: Parameters<typeof runLocal>[0]) {
  const msgs: { from: "alice" | "bob"; msg: Message }[] = [];
  const report = runLocal({ ...opts, onMessage: (from, bytes) => msgs.push({ from, msg: decodeMessage(bytes) }) });
  const find = <T extends MsgType>(t: T) => msgs.map((m) => m.msg.payload).find((p): p is Extract<Payload, { type: T }> => p.type === t);
  return { report, find, msgs };
}

describe("walkthrough vs a seeded engine run", () => {
  test("a full-size session: every public value and the final key match the engine's", () => {
    const opts = { qubits: 1 << 16, seed: 4242, noise: 0.03, eve: 0 };
    const { report, find } = engineMessages({ ...opts, eveFinalKeyGuess: false });
    expect(report.ok).toBe(true);
    const w = runWalkthrough(opts);
    const q = find(MsgType.Qubits)!;
    expect(w.rows.map((r) => r.aliceBit)).toEqual(bits(q.bits));
    expect(w.rows.map((r) => (r.aliceBasis === "x" ? 1 : 0))).toEqual(bits(q.bases));
    const det = find(MsgType.Detect)!;
    expect(w.rows.filter((r) => r.detected).map((r) => (r.bobBasis === "x" ? 1 : 0))).toEqual(bits(det.bases));
    const sift = find(MsgType.Sift)!;
    expect(w.sifted.count).toBe(report.sifted);
    expect(w.rows.filter((r) => r.detected).map((r) => (r.basesMatch ? 1 : 0))).toEqual(bits(sift.match));
    expect(w.rows.filter((r) => r.siftedIndex !== null).map((r) => (r.inSample ? 1 : 0))).toEqual(bits(sift.sample));
    expect(w.rows.filter((r) => r.inSample).map((r) => r.aliceBit)).toEqual(bits(sift.sampleBits));
    expect(w.sample.size).toBe(report.testSampleSize);
    expect(w.sample.errors).toBe(report.qber!.sampleErrors);
    expect(w.key.alice.length).toBe(report.keyBits);
    expect(w.key.errors.length).toBe(report.cascade!.actualErrors);
    expect(w.reconciliation.disclosedBits).toBe(report.cascade!.disclosedBits);
    expect(w.reconciliation.roundTrips).toBe(report.cascade!.roundTrips);
    expect(w.reconciliation.residualErrors).toBe(0);
    const verify = find(MsgType.Verify)!;
    expect(w.verification!.illustrative).toBe(false);
    expect(w.verification!.alice).toEqual(bits(verify.hash));
    expect(w.amplification!.illustrative).toBe(false);
    expect(w.amplification!.ell).toBe(verify.ell);
    expect(w.amplification!.alice).toEqual(bits(report.keys.alice!));
    expect(w.amplification!.bob).toEqual(bits(report.keys.bob!));
  });

  test("a 64-qubit session: the qubits, Bob's bases and detections are the engine's (which stops there: too short)", () => {
    const opts = { qubits: 64, seed: 7, noise: 0.05, eve: 0.5 };
    const { report, find } = engineMessages(opts);
    expect(report.ok).toBe(false);
    expect(report.abort!.code).toBe("KEY_TOO_SHORT");
    const w = runWalkthrough(opts);
    const q = find(MsgType.Qubits)!;
    expect(w.rows.map((r) => r.aliceBit)).toEqual(bits(q.bits));
    const det = find(MsgType.Detect)!;
    expect(w.rows.map((r) => (r.detected ? 1 : 0))).toEqual(bits(det.detected));
    expect(w.rows.map((r) => (r.bobBasis === "x" ? 1 : 0))).toEqual(bits(det.bases));
    expect(w.sifted.count).toBe(w.rows.filter((r) => r.aliceBasis === r.bobBasis).length);
  });

  test("the rows obey BB84: matching bases without Eve or noise give Bob Alice's bit; Eve in Alice's basis resends it", () => {
    const clean = runWalkthrough({ qubits: 64, seed: 1, noise: 0, eve: 0 });
    for (const r of clean.rows) {
      expect(r.sent).toBe(polarisation(r.aliceBit, r.aliceBasis));
      if (r.aliceBasis === r.bobBasis) expect(r.bobResult).toBe(r.aliceBit);
      expect(r.eve).toBeNull();
    }
    expect(clean.sifted.errors).toBe(0);
    const eve = runWalkthrough({ qubits: 64, seed: 2, noise: 0, eve: 1 });
    for (const r of eve.rows) {
      expect(r.eve).not.toBeNull();
      if (r.eve!.basis === r.aliceBasis) expect(r.eve!.resent).toBe(r.sent);
      // Bob measuring in the basis Eve resent in reads her bit.
      if (r.eve!.basis === r.bobBasis) expect(r.bobResult).toBe(r.eve!.result);
      expect(r.error).toBe(r.siftedIndex !== null && r.bobResult !== r.aliceBit);
    }
    expect(eve.sifted.errors).toBeGreaterThan(0);
  });

  test("a toy key: the real finite-key bound is shown (≤ 0) and the illustrative steps still agree", () => {
    for (let seed = 0; seed < 20; seed++) {
      const w = runWalkthrough({ qubits: WALKTHROUGH_MAX_QUBITS, seed, noise: 0.05 });
      expect(w.key.alice.length + w.sample.size).toBe(w.sifted.count);
      if (!w.amplification) continue;
      expect(w.amplification.realEll).toBeLessThanOrEqual(0);
      expect(w.amplification.illustrative).toBe(true);
      expect(w.verification!.hashBits).toBeLessThan(w.verification!.realHashBits);
      expect(w.amplification.identical).toBe(w.reconciliation.residualErrors === 0);
    }
  });

  test("bad input is refused", () => {
    expect(() => runWalkthrough({ qubits: WALKTHROUGH_MIN_QUBITS - 1, seed: 1 })).toThrow(RangeError);
    expect(() => runWalkthrough({ qubits: 16.5, seed: 1 })).toThrow(RangeError);
    expect(() => runWalkthrough({ qubits: 16, seed: -1 })).toThrow(RangeError);
  });
});
