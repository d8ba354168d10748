/** The chat timeline (lib/ui/timeline.ts): grouping, in-line room events, safe links, unread count. */
import type { ChatMessage } from "@/lib/client";
import type { LogEntry } from "@/lib/protocol";
import { buildTimeline, isNotifiable, linkify, mentions, titleWithUnread, unreadCount } from "@/lib/ui/timeline";

const T0 = Date.parse("2026-01-01T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
let n = 0;
const msg = (from: string, s: number, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `m${n++}`,
  from,
  fromName: from,
  to: null,
  direct: false,
  mine: from === "me",
  epoch: 1,
  ts: at(s),
  status: "ok",
  text: "hi",
  ...extra,
});
let logId = 1;
const log = (type: LogEntry["type"], actorId: string, s: number, meta: Record<string, unknown> = {}): LogEntry => ({
  id: logId++,
  roomId: "r",
  type,
  actorId,
  targetId: null,
  meta,
  createdAt: at(s),
});

describe("buildTimeline", () => {
  test("consecutive messages of one sender form a group; another sender, a DM or a long pause starts a new one", () => {
    const t = buildTimeline(
      [msg("a", 0), msg("a", 10), msg("b", 20), msg("b", 30, { direct: true, to: "me" }), msg("b", 40, { direct: true, to: "me" }), msg("b", 40 + 6 * 60)],
      [],
    );
    expect(t.map((i) => i.kind === "message" && [i.groupStart, i.groupEnd])).toEqual([
      [true, false],
      [false, true],
      [true, true],
      [true, false],
      [false, true],
      [true, true],
    ]);
  });

  test("joins and leaves appear in line by server time and break a group; other log rows and earlier events do not appear", () => {
    const t = buildTimeline(
      [msg("a", 10), msg("a", 30)],
      [log("MEMBER_JOINED", "old", 1), log("MEMBER_JOINED", "c", 20, { displayName: "Carol" }), log("MESSAGE_RELAYED", "a", 25), log("MEMBER_LEFT", "c", 40)],
      at(5),
    );
    expect(
      t.map((i) => (i.kind === "message" ? `m:${i.groupStart ? "start" : "cont"}:${i.groupEnd ? "end" : ""}` : `${i.event}:${i.name ?? i.userId}`)),
    ).toEqual(["m:start:end", "joined:Carol", "m:start:end", "left:c"]);
  });

  test("a BB84 session's line writes its key length as the member list does (1,324-bit key)", () => {
    const t = buildTimeline([], [log("BB84_SESSION_SUMMARY", "a", 20, { outcome: "success", qberEstimate: 0.0209, finalLength: 1324 })], at(5));
    expect(t.map((i) => i.kind === "event" && i.detail)).toEqual(["QBER 2.1%, 1,324-bit key"]);
  });

  test("a rejected message stands alone", () => {
    const t = buildTimeline([msg("a", 0), msg("a", 1, { status: "rejected" }), msg("a", 2)], []);
    expect(t.map((i) => i.kind === "message" && i.groupStart)).toEqual([true, true, true]);
  });
});

describe("linkify", () => {
  test("http and https URLs become links, trailing punctuation and an unmatched bracket stay text", () => {
    expect(linkify("see https://example.org/a?b=1#c, (or http://x.test/p_(q))). ok")).toEqual([
      { kind: "text", text: "see " },
      { kind: "link", text: "https://example.org/a?b=1#c", href: "https://example.org/a?b=1#c" },
      { kind: "text", text: ", (or " },
      { kind: "link", text: "http://x.test/p_(q)", href: "http://x.test/p_(q)" },
      { kind: "text", text: ")). ok" },
    ]);
  });

  test("other schemes and markup stay text", () => {
    for (const s of ["javascript:alert(1)", "data:text/html,<b>x</b>", '<a href="https://e.org">x</a> ftp://e.org', "no links here"]) {
      const segs = linkify(s);
      expect(segs.filter((x) => x.kind === "link").every((x) => x.kind === "link" && /^https?:\/\//.test(x.href))).toBe(true);
      expect(segs.map((x) => x.text).join("")).toBe(s);
    }
    expect(linkify("javascript:alert(1)")).toEqual([{ kind: "text", text: "javascript:alert(1)" }]);
    expect(linkify("https://")).toEqual([{ kind: "text", text: "https://" }]);
  });

  test("the text is kept exactly: segments join back to the input", () => {
    const s = "a https://e.org/x. b http://[::1]:3000/room/x?y=1 c\nhttps://e.org";
    expect(
      linkify(s)
        .map((x) => x.text)
        .join(""),
    ).toBe(s);
    expect(linkify(s).filter((x) => x.kind === "link")).toHaveLength(3);
  });
});

describe("unread", () => {
  test("counts others' messages after the last seen one; the title shows it", () => {
    const ms = [msg("a", 0), msg("me", 1), msg("b", 2), msg("b", 3, { status: "rejected" }), msg("c", 4)];
    expect(unreadCount(ms, 1)).toBe(2);
    expect(unreadCount(ms, ms.length)).toBe(0);
    expect(titleWithUnread("room — QSEC", 2)).toBe("(2) room — QSEC");
    expect(titleWithUnread("room — QSEC", 0)).toBe("room — QSEC");
    expect(titleWithUnread("r", 150)).toBe("(99+) r");
  });
});

describe("notifications", () => {
  test("mentions match the name as a word, with or without @, in any case", () => {
    expect(mentions("hey @bob, look", "Bob")).toBe(true);
    expect(mentions("Bob: look", "Bob")).toBe(true);
    expect(mentions("bobby tables", "Bob")).toBe(false);
    expect(mentions("ask Zoë.", "zoë")).toBe(true);
    expect(mentions("a+b (c)", "a+b")).toBe(true);
    expect(mentions("anything", " ")).toBe(false);
  });

  test("only others' readable direct messages and mentions notify", () => {
    expect(isNotifiable(msg("a", 0, { text: "hi Bob" }), "Bob")).toBe(true);
    expect(isNotifiable(msg("a", 0, { text: "hi all", direct: true, to: "me" }), "Bob")).toBe(true);
    expect(isNotifiable(msg("a", 0, { text: "hi all" }), "Bob")).toBe(false);
    expect(isNotifiable(msg("me", 0, { text: "hi Bob" }), "Bob")).toBe(false);
    expect(isNotifiable(msg("a", 0, { text: "hi Bob", status: "rejected" }), "Bob")).toBe(false);
  });
});
