/**
 * Issue 10: display names that render blank are refused; a client warns when two members of a
 * room have confusable names (Unicode confusables skeleton).
 */
import { ChatClient, MemoryStorage } from "@/lib/client";
import { generateIdentity } from "@/lib/crypto";
import { confusableNames, rendersBlank } from "@/lib/protocol";
import { connectRaw } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { serverPerTest } from "../helpers/per-test";

const t = serverPerTest();

test("names that render blank are refused", async () => {
  const c = await connectRaw(t.srv.url);
  t.clients.push(c);
  for (const [i, name] of ["\u3164", "\u3164\u3164", "\u2800", "\uFFA0", "\u0301\u0302", "\u115F\u1160"].entries()) {
    expect(await c.call("room:join", { roomId: `blank-${i}`, displayName: name })).toMatchObject({ ok: false, error: { code: "INVALID_PAYLOAD" } });
  }
  expect(await c.call("room:join", { roomId: "visible", displayName: "Zoë \u3164" })).toMatchObject({ ok: true });
});

test("confusable names are recognised by their skeleton", () => {
  expect(confusableNames("alice", "\u0430lice")).toBe(true); // Cyrillic а
  expect(confusableNames("paypal", "paypa1")).toBe(true);
  expect(confusableNames("Bob", "bob")).toBe(true);
  expect(confusableNames("bob", "carol")).toBe(false);
  expect(rendersBlank("\u3164")).toBe(true);
  expect(rendersBlank("é")).toBe(false);
});

test("a client warns when two members' names look alike", async () => {
  const bob = new ChatClient({ url: t.srv.url, identity: await generateIdentity(), storage: new MemoryStorage() });
  try {
    await bob.connect();
    await bob.join("names", "bob");
    const alice = await connectRaw(t.srv.url);
    t.clients.push(alice);
    expect(await alice.call("room:join", { roomId: "names", displayName: "alice" })).toMatchObject({ ok: true });
    const mallory = await connectRaw(t.srv.url);
    t.clients.push(mallory);
    expect(await mallory.call("room:join", { roomId: "names", displayName: "\u0430lice" })).toMatchObject({ ok: true }); // not an exact duplicate: the server lets it in
    const warnings = () => bob.state.rooms["names"]?.warnings ?? [];
    await until(() => warnings().some((w) => /look alike/.test(w)), 5000, "the confusable-names warning");
    expect(warnings().filter((w) => /look alike/.test(w))).toHaveLength(1);
  } finally {
    bob.close();
  }
});
