import { csvCell, csvRow, parseCsv } from "@/lib/admin/csv";
import { logFilterToParams, matchesLogFilter, parseLogFilterParams } from "@/lib/admin/log-filter";

describe("CSV export cells", () => {
  test("cells a spreadsheet would run as a formula are prefixed with an apostrophe", () => {
    for (const s of ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]) expect(csvCell(s).replace(/^"/, "").startsWith("'")).toBe(true);
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell(42)).toBe("42");
    expect(csvCell(null)).toBe("");
  });

  test("quotes, commas and line breaks survive a round trip and can't split a row", () => {
    const nasty = ['a "quoted", value', "line\nbreak", "cr\r\nlf", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0"];
    const text = csvRow(["id", ...nasty.map((_, i) => `c${i}`)]) + csvRow([1, ...nasty]);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(2);
    expect(rows[1].slice(1, 5)).toEqual(nasty.slice(0, 4));
    expect(rows[1][5]).toBe("'=cmd|' /C calc'!A0");
  });
});

describe("log filter", () => {
  test("query parameters parse into a filter and back", () => {
    const p = new URLSearchParams("type=MEMBER_JOINED,MEMBER_LEFT&actor=Alice&from=2026-11-28T10:00:00Z&text=disconnect");
    const r = parseLogFilterParams("room-1", p);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.filter.types).toEqual(["MEMBER_JOINED", "MEMBER_LEFT"]);
    expect(r.filter.from?.toISOString()).toBe("2026-11-28T10:00:00.000Z");
    const again = parseLogFilterParams("room-1", logFilterToParams(r.filter));
    expect(again).toEqual(r);
  });

  test("bad values are refused with a message naming the field", () => {
    const bad = parseLogFilterParams("room-1", new URLSearchParams("type=NOPE"));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toMatch(/types/);
    const date = parseLogFilterParams("room-1", new URLSearchParams("from=yesterday-ish"));
    expect(!date.ok && date.error).toMatch(/from/);
    expect(parseLogFilterParams("bad room!", new URLSearchParams()).ok).toBe(false);
  });

  test("the live tail's matcher agrees with the filter's meaning", () => {
    const e = {
      type: "MEMBER_LEFT",
      actorId: "abcdef0123456789abcdef0123456789",
      actorName: "Alice",
      createdAt: "2026-11-28T10:00:00.000Z",
      meta: { reason: "Disconnect" },
    };
    expect(matchesLogFilter(e, { types: [] })).toBe(true);
    expect(matchesLogFilter(e, { types: ["MEMBER_JOINED"] })).toBe(false);
    expect(matchesLogFilter(e, { types: [], actor: "abcd" })).toBe(true);
    expect(matchesLogFilter(e, { types: [], actor: "ali" })).toBe(true);
    expect(matchesLogFilter(e, { types: [], actor: "bob" })).toBe(false);
    expect(matchesLogFilter(e, { types: [], text: "disconnect" })).toBe(true);
    expect(matchesLogFilter(e, { types: [], from: new Date("2026-11-28T10:00:01Z") })).toBe(false);
    expect(matchesLogFilter(e, { types: [], to: new Date("2026-11-28T10:00:00Z") })).toBe(false);
  });
});
