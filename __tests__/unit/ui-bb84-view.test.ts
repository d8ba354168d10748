/** Pure helpers of the room page's BB84 dashboard (lib/ui/bb84-view.ts). */
import type { Bb84LiveView, QkdSnapshot } from "@/lib/client/bb84-types";
import type { Bb84SessionSummary } from "@/lib/protocol";
import { CASCADE_VARIANTS } from "@/lib/qkd/cascade";
import { alarmText, alarmTitle, incomingSessions, laterSuccess, pastAlarmText, startedWithYouText } from "@/lib/ui/bb84-alarm";
import {
  CASCADE_CHOICES,
  cascadeHint,
  cascadeLabel,
  CHANNEL_BOUNDS,
  DEFAULT_ROOM_CHANNEL,
  FEC_DEFINITION,
  QBER_EXPLAINER,
  sessionTabLabel,
  shownFec,
  chartThreshold,
  clampChannel,
  expectedChannelQber,
  focusSession,
  formatBytes,
  keyPlanHint,
  formatCount,
  formatPercent,
  formatRatio,
  parseQubits,
  progressPercent,
  qberVerdict,
  sameChannel,
  sessionChartData,
  stageLabel,
  QUBITS_MAX,
  QUBITS_MIN,
} from "@/lib/ui/bb84-view";

function summary(over: Partial<Bb84SessionSummary>): Bb84SessionSummary {
  return {
    id: "0".repeat(32),
    roomId: "r",
    aliceId: "a".repeat(32),
    bobId: "b".repeat(32),
    qubits: 16384,
    cascadeVariant: "yanetal-tuned",
    qberThreshold: 0.11,
    channel: { noise: 0.02, loss: 0, eve: 0 },
    outcome: "success",
    abortCode: null,
    abortReason: null,
    abortedBy: null,
    detected: 16384,
    sifted: 8200,
    sampleSize: 1800,
    qberEstimate: 0.02,
    qberBound: 0.035,
    disclosedBits: 700,
    fEC: 1.1,
    roundTrips: 40,
    finalLength: 3000,
    durations: {},
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: "2026-01-01T00:00:01.000Z",
    ...over,
  };
}

function live(over: Partial<Bb84LiveView> & { snap?: Partial<QkdSnapshot> }): Bb84LiveView {
  const { snap, ...rest } = over;
  return {
    sessionId: "s",
    roomId: "r",
    role: "alice",
    peerId: "p",
    cascadeVariant: "yanetal-tuned",
    channel: { noise: 0, loss: 0, eve: 0 },
    status: "running",
    snapshot: {
      status: "running",
      stage: "cascade",
      fraction: 0.5,
      qubits: 1,
      detected: null,
      sifted: null,
      sampleSize: null,
      sampleErrors: null,
      qberEstimate: null,
      qberBound: null,
      qberThreshold: 0.11,
      disclosedBits: null,
      roundTrips: null,
      fEC: null,
      finalLength: null,
      abort: null,
      timings: { qubits: 0, sifting: 0, estimation: 0, cascade: 0, verification: 0, amplification: 0 },
      eve: null,
      ...snap,
    },
    transport: { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0 },
    startedAt: "",
    finishedAt: null,
    ...rest,
  };
}

describe("qubit input", () => {
  test("accepts integers within the server's bounds, with separators", () => {
    expect(parseQubits("16384")).toBe(16384);
    expect(parseQubits("1,048,576")).toBe(1 << 20);
    expect(parseQubits(" 65 536 ")).toBe(65536);
    expect(parseQubits(QUBITS_MIN)).toBe(1024);
    expect(parseQubits(QUBITS_MAX)).toBe(4194304);
  });
  test("refuses what the server would refuse", () => {
    for (const bad of ["", "abc", "1023", "4194305", "2048.5", "1e9", "-5000"]) expect(parseQubits(bad)).toBeNull();
  });
});

describe("channel settings", () => {
  test("values are clamped to the server's schema bounds", () => {
    expect(clampChannel({ noise: 0.9, loss: 1, eve: -1 })).toEqual({ noise: 0.5, loss: 0.99, eve: 0 });
    expect(clampChannel({ noise: Number.NaN, loss: 0.2, eve: 2 })).toEqual({ noise: 0, loss: 0.2, eve: 1 });
  });
  test("expected QBER = e + f/4 − e·f/2", () => {
    expect(expectedChannelQber({ noise: 0, loss: 0, eve: 1 })).toBeCloseTo(0.25);
    expect(expectedChannelQber({ noise: 0.02, loss: 0.5, eve: 0 })).toBeCloseTo(0.02);
    expect(expectedChannelQber({ noise: 0.1, loss: 0, eve: 0.5 })).toBeCloseTo(0.1 + 0.125 - 0.025);
  });
  test("sameChannel compares all three fields", () => {
    expect(sameChannel({ noise: 0, loss: 0, eve: 0 }, { noise: 0, loss: 0, eve: 0 })).toBe(true);
    expect(sameChannel({ noise: 0, loss: 0, eve: 0 }, { noise: 0, loss: 0, eve: 1 })).toBe(false);
  });
});

describe("formatting", () => {
  test("percent, counts, ratios and bytes; unknown reads as a dash", () => {
    expect(formatPercent(0.0215)).toBe("2.15%");
    expect(formatPercent(0.25, 1)).toBe("25.0%");
    expect(formatPercent(null)).toBe("—");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(undefined)).toBe("—");
    expect(formatRatio(1.1234)).toBe("1.12");
    expect(formatRatio(Number.NaN)).toBe("—");
    expect(formatBytes(800)).toBe("800 B");
    expect(formatBytes(2048)).toBe("2.0 KiB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.00 MiB");
  });
  test("stage labels", () => {
    expect(stageLabel("cascade")).toBe("Cascade error correction");
    expect(stageLabel("qubits")).toBe("Sending qubits");
    expect(stageLabel("qubits", "bob")).toBe("Receiving and measuring qubits");
    expect(stageLabel("idle", "bob")).toBe("Waiting for the first frames");
    expect(stageLabel("something-new")).toBe("something-new");
  });
  test("progress: success is full, aborted stays where it stopped, bad fractions are clamped", () => {
    expect(progressPercent(live({ status: "success", snap: { fraction: 0.9 } }))).toBe(100);
    expect(progressPercent(live({ status: "aborted", snap: { fraction: 0.35 } }))).toBe(35);
    expect(progressPercent(live({ snap: { fraction: 7 } }))).toBe(100);
    expect(progressPercent(live({ snap: { fraction: Number.NaN } }))).toBe(0);
  });
});

describe("QBER verdict against the threshold", () => {
  test("unknown, ok, near (within 80% of the threshold), over", () => {
    expect(qberVerdict(null, 0.11)).toBe("unknown");
    expect(qberVerdict(0, 0.11)).toBe("ok");
    expect(qberVerdict(0.02, 0.11)).toBe("ok");
    expect(qberVerdict(0.09, 0.11)).toBe("near");
    expect(qberVerdict(0.11, 0.11)).toBe("near");
    expect(qberVerdict(0.25, 0.11)).toBe("over");
  });
});

describe("session chart data", () => {
  test("finished sessions oldest first, in percent, aborted marked; running ones left out", () => {
    const names: Record<string, string> = { ["a".repeat(32)]: "Alice", ["b".repeat(32)]: "Bob" };
    const data = sessionChartData(
      [
        summary({
          id: "2",
          startedAt: "2026-01-01T00:02:00.000Z",
          outcome: "aborted",
          abortCode: "QBER_TOO_HIGH",
          qberEstimate: 0.25,
          qberBound: 0.28,
          finalLength: null,
          channel: { noise: 0, loss: 0, eve: 1 },
        }),
        summary({ id: "1", startedAt: "2026-01-01T00:01:00.000Z" }),
        summary({ id: "3", startedAt: "2026-01-01T00:03:00.000Z", outcome: "running", qberEstimate: null, qberBound: null }),
      ],
      (id) => names[id] ?? "?",
    );
    expect(data.map((d) => d.sessionId)).toEqual(["1", "2"]);
    expect(data[0]).toEqual(expect.objectContaining({ n: 1, qber: 2, bound: 3.5, aborted: false, label: "#1 Alice→Bob", eve: 0, abortCode: null }));
    expect(data[1]).toEqual(
      expect.objectContaining({ n: 2, qber: 25, bound: 28, aborted: true, outcome: "aborted", abortCode: "QBER_TOO_HIGH", finalLength: null, eve: 1 }),
    );
  });
  test("a session that ended before estimation stays in the list with no QBER", () => {
    const data = sessionChartData([summary({ id: "x", outcome: "aborted", abortCode: "PEER_LEFT", qberEstimate: null, qberBound: 0.2, sampleSize: null })]);
    expect(data).toHaveLength(1);
    expect(data[0]).toEqual(expect.objectContaining({ qber: null, bound: null, aborted: true, abortCode: "PEER_LEFT" }));
  });
  test("threshold line in percent from the newest session, or the default", () => {
    expect(chartThreshold([summary({ qberThreshold: 0.11 })])).toBe(11);
    expect(chartThreshold([])).toBe(11);
    expect(chartThreshold([], 0.073)).toBe(7.3);
  });
});

describe("alarms", () => {
  test("a suspected eavesdropper reads as eavesdropping, with the reason and the peer's name as text", () => {
    const a = { suspectedEve: true, code: "QBER_TOO_HIGH", reason: "QBER 24.8% > 11%" };
    expect(alarmTitle(a)).toBe("Suspected eavesdropper");
    expect(alarmText(a, "<b>Bob</b>")).toBe("BB84 with <b>Bob</b> aborted: QBER 24.8% > 11%. Your chat with <b>Bob</b> continues on X25519 keys.");
    expect(alarmText({ ...a, reason: "QBER too high." }, "Bob", true)).toBe(
      "BB84 with Bob aborted: QBER too high. Your keys with Bob keep the hybrid key of an earlier successful session.",
    );
  });
  test("other aborts say what happened", () => {
    expect(alarmTitle({ suspectedEve: false, code: "CANCELLED" })).toBe("Session cancelled");
    expect(alarmTitle({ suspectedEve: false, code: "PROTOCOL_ERROR" })).toBe("BB84 session aborted");
    expect(alarmText({ reason: " " }, "Bob")).toMatch(/no reason given/);
  });
});

describe("focusSession", () => {
  test("the newest running session, else the newest", () => {
    const a = live({ sessionId: "a", status: "success" });
    const b = live({ sessionId: "b", status: "running" });
    const c = live({ sessionId: "c", status: "aborted" });
    expect(focusSession([a, b, c])?.sessionId).toBe("b");
    expect(focusSession([a, c])?.sessionId).toBe("c");
    expect(focusSession([])).toBeNull();
  });
});

describe("the panel's words (issue 14)", () => {
  test("every Cascade variant has a plain name, and its paper and engine name in the hint", () => {
    for (const v of CASCADE_VARIANTS) {
      expect(CASCADE_CHOICES[v].label).not.toBe(v);
      expect(cascadeHint(v)).toContain(v);
    }
    expect(cascadeLabel("yanetal-tuned")).toBe("Efficient");
    expect(cascadeLabel("yanetal-rt")).toBe("Fewer round trips");
    expect(cascadeLabel("original")).toBe("Original (1994)");
    expect(cascadeHint("original")).toMatch(/Brassard & Salvail/);
    expect(cascadeLabel("not-a-variant")).toBe("not-a-variant");
  });

  test("f_EC: one definition, so Alice shows the value Bob reported and Bob his own", () => {
    expect(shownFec("bob", 1.09, 1.2)).toBe(1.09);
    expect(shownFec("bob", null, 1.09)).toBe(1.09);
    // Alice's own figure (from the estimate) is never shown: she waits for Bob's.
    expect(shownFec("alice", 0.99, 1.09)).toBe(1.09);
    expect(shownFec("alice", 0.99, null)).toBeNull();
    expect(FEC_DEFINITION).toMatch(/errors Cascade corrected/);
  });

  test("estimate, bound and threshold are each explained", () => {
    expect(QBER_EXPLAINER).toMatch(/Estimate/);
    expect(QBER_EXPLAINER).toMatch(/Bound/);
    expect(QBER_EXPLAINER).toMatch(/threshold/);
  });

  test("the eavesdropper is in percent everywhere, and the default channel is a new room's", () => {
    expect(CHANNEL_BOUNDS.eve.label).toMatch(/%/);
    expect(CHANNEL_BOUNDS.eve.label).not.toMatch(/fraction/);
    expect(DEFAULT_ROOM_CHANNEL).toEqual({ noise: 0.02, loss: 0, eve: 0 });
  });

  test("session tabs name the peer, the start time and the outcome", () => {
    const label = sessionTabLabel(live({ peerId: "p", status: "success", startedAt: "2026-11-30T16:04:05.000Z" }), () => "Bob");
    expect(label).toMatch(/^Bob · .+ · success$/);
    expect(sessionTabLabel(live({ status: "aborted", startedAt: "not a date" }), () => "Bob")).toBe("Bob · aborted");
  });

  test("an alarm is past once a later session with the same peer succeeded", () => {
    const alarm = { peerId: "p", at: "2026-11-30T16:00:00.000Z" };
    const earlier = live({ sessionId: "e", peerId: "p", status: "success", startedAt: "2026-11-30T15:59:00.000Z" });
    const other = live({ sessionId: "o", peerId: "q", status: "success", startedAt: "2026-11-30T16:01:00.000Z" });
    const failed = live({ sessionId: "f", peerId: "p", status: "aborted", startedAt: "2026-11-30T16:02:00.000Z" });
    expect(laterSuccess(alarm, [earlier, other, failed])).toBeNull();
    const ok1 = live({ sessionId: "k1", peerId: "p", status: "success", startedAt: "2026-11-30T16:03:00.000Z" });
    const ok2 = live({ sessionId: "k2", peerId: "p", status: "success", startedAt: "2026-11-30T16:05:00.000Z" });
    expect(laterSuccess(alarm, [earlier, ok2, ok1, failed])?.sessionId).toBe("k2");
    expect(pastAlarmText("Bob", ok2.startedAt, () => "16:05")).toBe("Past: a later session with Bob succeeded at 16:05.");
  });
});

describe("the peer is told", () => {
  test("who started a session with them, while it runs", () => {
    expect(startedWithYouText("Alice")).toBe("Alice started a BB84 session with you.");
    const mine = live({ sessionId: "m", role: "alice", status: "running" });
    const theirs = live({ sessionId: "t", role: "bob", status: "running" });
    const over = live({ sessionId: "o", role: "bob", status: "success" });
    expect(incomingSessions([mine, theirs, over]).map((l) => l.sessionId)).toEqual(["t"]);
  });
});

describe("keyPlanHint (the line under the qubit count)", () => {
  const ch = (noise: number, loss = 0, eve = 0) => ({ noise, loss, eve });
  test("the default session on the default channel: the expected key, no warning", () => {
    expect(keyPlanHint(16_384, DEFAULT_ROOM_CHANNEL)).toEqual({ text: "Expected key: about 1,342 bits.", warn: false });
  });
  test("a small session warns that some end under the 128 bits a key needs", () => {
    expect(keyPlanHint(8192, ch(0.02))).toEqual({
      text: "Expected key: about 259 bits. At this size some sessions end under the 128 bits a key needs (not used).",
      warn: true,
    });
  });
  test("too few qubits for any usable key, or a channel whose QBER should abort: said so", () => {
    expect(keyPlanHint(4096, ch(0.02))).toEqual({ text: "Expected key: none, under the 128 bits a key needs. Use more qubits.", warn: true });
    expect(keyPlanHint(16_384, ch(0.04, 0.3)).text).toBe("Expected key: about 33 bits, under the 128 bits a key needs. Use more qubits.");
    expect(keyPlanHint(16_384, ch(0.02, 0, 1))).toEqual({
      text: "The channel's expected QBER, 26.0%, is above the 11.0% threshold: sessions should abort at the QBER check.",
      warn: true,
    });
  });
});
