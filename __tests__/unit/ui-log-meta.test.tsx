/**
 * Log metadata as a reader sees it, in the admin console and the room log (app/_components/log-meta.tsx): key/value
 * text, rates in percent like the room page, members' names for user ids the console knows, and
 * user data only ever as text.
 */
import { renderToStaticMarkup } from "react-dom/server";
import { LogMeta, metaLabel } from "@/app/_components/log-meta";

const ALICE = "a1".repeat(32);
const STRANGER = "f0".repeat(32);
const EVIL = "<img src=x onerror=alert(1)>";

function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&amp;/g, "&");
}

test("keys in words, values with their units", () => {
  expect(metaLabel("displayName")).toBe("display name");
  expect(metaLabel("someNewKey")).toBe("some new key");
  const html = renderToStaticMarkup(
    <LogMeta meta={{ noise: 0.025, loss: 0, eve: 0.3, before: { noise: 0.02, loss: 0, eve: 0 }, by: "admin", bytes: 2048, epoch: 3 }} names={{}} />,
  );
  expect(text(html)).toBe("noise: 2.5%loss: 0%Eve: 30%before: noise: 2%, loss: 0%, Eve: 0%by: adminbytes: 2.0 KiBepoch: 3");
  expect(html).toContain("<dl");
  expect(text(html)).not.toContain("{"); // no raw JSON in the text (the title attribute keeps it for the text filter)
  expect(html).toContain(
    `title="${JSON.stringify({ noise: 0.025, loss: 0, eve: 0.3, before: { noise: 0.02, loss: 0, eve: 0 }, by: "admin", bytes: 2048, epoch: 3 }).replace(/"/g, "&quot;")}"`,
  );
});

test("a user id the console knows reads as the member's name; an unknown one stays an id", () => {
  const names = { [ALICE]: "Alice" };
  const t = text(renderToStaticMarkup(<LogMeta meta={{ abortedBy: ALICE, leaderId: STRANGER }} names={names} />));
  expect(t).toBe(`aborted by: Alice ${ALICE.slice(0, 8)}leader: ${STRANGER}`);
});

test("user data is escaped text, never markup", () => {
  const html = renderToStaticMarkup(<LogMeta meta={{ displayName: EVIL }} names={{ x: EVIL }} />);
  expect(html).not.toContain("<img");
  expect(text(html)).toBe(`display name: ${EVIL}`);
});

test("empty values are left out; metadata with none left shows a dash", () => {
  expect(text(renderToStaticMarkup(<LogMeta meta={{ outcome: "success", abortCode: null, durations: {}, finalLength: 512 }} names={{}} />))).toBe(
    "outcome: successfinal key bits: 512",
  );
  expect(text(renderToStaticMarkup(<LogMeta meta={{}} names={{}} />))).toBe("—");
  expect(text(renderToStaticMarkup(<LogMeta meta={{ capacity: null }} names={{}} />))).toBe("—");
});

test("f_EC reads as the BB84 panel shows it (two decimals), not a raw double; the exact value stays in the title", () => {
  const html = renderToStaticMarkup(<LogMeta meta={{ fEC: 1.088212397806692, roundTrips: 66 }} names={{}} />);
  expect(text(html)).toBe("f_EC: 1.09round trips: 66");
  expect(html).toContain("1.088212397806692"); // in the title attribute, for the "Text in metadata" filter
});
