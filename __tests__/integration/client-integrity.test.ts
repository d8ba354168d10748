/**
 * What a client does when the server (or a leader) lies: a member listed under a victim's id with
 * someone else's keys gets no room key, and a second, different key for an epoch is ignored.
 */
import { ChatClient, MemoryStorage } from "@/lib/client";
import { encodeChatPayload, encryptMessage, generateIdentity, generateRoomKey, derivePairKeys, wrapRoomKeyShare, type Identity } from "@/lib/crypto";
import { connectRaw } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { startTestServer } from "../helpers/server";

async function sortedIdentities(n: number): Promise<Identity[]> {
  const ids = await Promise.all(Array.from({ length: n }, () => generateIdentity()));
  return ids.sort((a, b) => (a.userId < b.userId ? -1 : 1));
}

test("a member whose listed keys do not derive its user id is flagged and gets no room key", async () => {
  const srv = await startTestServer();
  const [leaderId, victimId, joinerId] = await sortedIdentities(3);
  const mallory = await generateIdentity();
  const make = (identity: Identity) => new ChatClient({ url: srv.url, identity, storage: new MemoryStorage() });
  const leader = make(leaderId);
  const victim = make(victimId);
  const joiner = make(joinerId);
  try {
    for (const c of [leader, victim]) await c.connect();
    await leader.join("tamper", "leader");
    await victim.join("tamper", "victim");
    // The server is compromised: it keeps the victim's id and name but swaps in Mallory's keys.
    const entry = srv.app.deps.presence.rooms.get("tamper")!.members.get(victimId.userId)!;
    entry.signingKey = mallory.signingKey;
    entry.agreementKey = mallory.agreementKey;
    entry.agreementSig = mallory.agreementSig; // a valid binding, just not for this user id
    await joiner.connect();
    const joined = await joiner.join("tamper", "joiner");
    const view = () => leader.state.rooms["tamper"];
    await until(() => view()?.epoch === joined.epoch && view()!.keyEpoch === joined.epoch, 5000, "leader on the new epoch");
    await until(() => joiner.state.rooms["tamper"]?.keyEpoch === joined.epoch, 5000, "joiner keyed");
    expect(view()!.members.find((m) => m.userId === victimId.userId)).toMatchObject({ bindingValid: false });
    await srv.app.deps.logs.flush();
    const shares = await srv.prisma.roomLog.findMany({ where: { roomId: "tamper", type: "KEY_SHARE_RELAYED" } });
    // (The leader's share to itself, kept for its other tabs, is not one to another member.)
    const forEpoch = shares.filter((r) => JSON.parse(r.meta).epoch === joined.epoch && r.targetId !== r.actorId).map((r) => r.targetId);
    expect(forEpoch).toEqual([joinerId.userId]); // nothing wrapped for Mallory's key under the victim's id
    await expect(leader.send("tamper", "psst", victimId.userId)).rejects.toMatchObject({ code: "BINDING_FAILED" });
  } finally {
    for (const c of [leader, victim, joiner]) c.close();
    await srv.close();
  }
});

test("a second, different room key for the same epoch is ignored with a warning", async () => {
  const srv = await startTestServer();
  const [rawId, memberId] = await sortedIdentities(2);
  const raw = await connectRaw(srv.url, { identity: rawId }); // the leader (smallest id), speaking by hand
  const member = new ChatClient({ url: srv.url, identity: memberId, storage: new MemoryStorage() });
  try {
    await raw.call("room:join", { roomId: "twokeys", displayName: "leader" });
    await member.connect();
    const joined = await member.join("twokeys", "member");
    const epoch = joined.epoch;
    const pair = await derivePairKeys(rawId, { userId: memberId.userId, agreementKey: memberId.agreementKey });
    const first = await generateRoomKey();
    const second = await generateRoomKey();
    for (const k of [first, second]) {
      const share = await wrapRoomKeyShare(rawId, pair.wrapKey, k.raw, { roomId: "twokeys", epoch, senderId: rawId.userId, recipientId: memberId.userId });
      expect(await raw.call("roomkey:share", { roomId: "twokeys", epoch, shares: [share] })).toMatchObject({ ok: true });
    }
    await until(() => (member.state.rooms["twokeys"]?.warnings ?? []).some((w) => /different key for epoch/.test(w)), 5000, "the warning");
    // Messages under the first key still read; under the second they do not.
    for (const [k, text, counter] of [
      [first, "under the first key", 1],
      [second, "under the second key", 2],
    ] as const) {
      const env = await encryptMessage(
        rawId,
        k.key,
        { roomId: "twokeys", epoch, senderId: rawId.userId, counter },
        encodeChatPayload({ text, sentAt: Date.now() }),
      );
      expect(await raw.call("message:send", { roomId: "twokeys", epoch, counter, ...env })).toMatchObject({ ok: true });
    }
    const msgs = () => member.state.rooms["twokeys"]?.messages ?? [];
    await until(() => msgs().filter((m) => m.status !== "waiting-key").length === 2, 5000, "both messages handled");
    expect(msgs().find((m) => m.text === "under the first key")).toMatchObject({ status: "ok" });
    expect(msgs().filter((m) => m.status === "rejected")).toHaveLength(1);
  } finally {
    raw.close();
    member.close();
    await srv.close();
  }
});
