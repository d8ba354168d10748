/**
 * A direct message recorded before a tab (re)started cannot be replayed into it: the pair key
 * survives reloads, so the client also checks the DM's authenticated send time.
 */
import { ChatClient, MemoryStorage } from "@/lib/client";
import { derivePairKeys, encodeChatPayload, encryptMessage, generateIdentity } from "@/lib/crypto";
import { connectRaw } from "../helpers/raw-client";
import { until } from "../helpers/waits";
import { startTestServer } from "../helpers/server";

test("an old direct message delivered into a fresh session is rejected as a replay; a fresh one is read", async () => {
  const srv = await startTestServer();
  const bob = new ChatClient({ url: srv.url, identity: await generateIdentity(), storage: new MemoryStorage() });
  const mallory = await connectRaw(srv.url);
  try {
    await bob.connect();
    await bob.join("dm-room", "bob");
    await mallory.call("room:join", { roomId: "dm-room", displayName: "alice" });
    const pair = await derivePairKeys(mallory.identity, { userId: bob.userId!, agreementKey: bob.identity.agreementKey });
    const send = async (counter: number, sentAt: number, text: string) => {
      const env = await encryptMessage(
        mallory.identity,
        pair.dmKey,
        { roomId: "dm-room", epoch: 0, senderId: mallory.userId, counter, to: bob.userId! },
        encodeChatPayload({ text, sentAt }),
      );
      const r = (await mallory.call("message:send", { roomId: "dm-room", epoch: 0, counter, to: bob.userId, ...env })) as any;
      expect(r.ok).toBe(true);
      return r.data.id as string;
    };
    const oldId = await send(1, Date.now() - 60 * 60_000, "recorded an hour ago");
    const freshId = await send(2, Date.now(), "hello now");
    const msgs = () => bob.state.rooms["dm-room"]?.messages ?? [];
    await until(() => msgs().some((m) => m.id === oldId) && msgs().some((m) => m.id === freshId), 5000, "both DMs");
    expect(msgs().find((m) => m.id === oldId)).toMatchObject({ status: "rejected", direct: true });
    expect(msgs().find((m) => m.id === oldId)!.reason).toMatch(/Replayed direct message/);
    expect(msgs().find((m) => m.id === oldId)!.text).toBeUndefined();
    expect(msgs().find((m) => m.id === freshId)).toMatchObject({ status: "ok", text: "hello now" });
  } finally {
    bob.close();
    mallory.close();
    await srv.close();
  }
});
