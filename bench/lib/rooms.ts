/**
 * One sender and N receivers in one room, on either relay, wrapped as a RoomUnderTest.
 *
 * QSEC: every client is a real identity authenticated by connectRaw (signed nonce), joins with
 * room:join, and the sender stamps the current epoch (from join results and room:updated).
 * Bare: plain socket.io-client sockets that emit "join" and then "msg".
 * Both use the websocket transport only, one connection (forceNew) per client.
 */
import { io, type Socket } from "socket.io-client";
import { connectRaw, type RawClient } from "@/__tests__/helpers/raw-client";
import type { Ack, JoinResult, MessageReceived, RoomState } from "@/lib/protocol";
import type { RoomUnderTest } from "./driver";

export interface OpenRoom extends RoomUnderTest {
  /** Other notifications the clients got while open (QSEC's live log push: log:appended). */
  extraFrames(): number;
  close(): Promise<void>;
}

async function inBatches<T>(n: number, batch: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch) out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => make(i + k)))));
  return out;
}

export async function openQsecRoom(url: string, roomId: string, receivers: number): Promise<OpenRoom> {
  const clients: RawClient[] = await inBatches(receivers + 1, 10, () => connectRaw(url));
  // connectRaw records every notification for tests; a benchmark must not pay for that.
  for (const c of clients) c.socket.offAny();
  const [sender, ...rest] = clients;
  let epoch = 0;
  sender.socket.on("room:updated", (s: RoomState) => {
    if (s.roomId === roomId && s.epoch > epoch) epoch = s.epoch;
  });
  for (const [i, c] of clients.entries()) {
    const res = (await c.call("room:join", { roomId, displayName: i === 0 ? "sender" : `r${i}`, capacity: 64 })) as Ack<JoinResult> | "no-ack";
    if (res === "no-ack" || !res.ok) throw new Error(`room:join failed for client ${i}: ${JSON.stringify(res)}`);
    if (res.data.epoch > epoch) epoch = res.data.epoch;
  }
  let extra = 0;
  let handler: (counter: number) => void = () => {};
  for (const c of clients) c.socket.on("log:appended", () => void extra++);
  for (const c of rest) c.socket.on("message:received", (m: MessageReceived) => handler(m.counter));
  return {
    roomId,
    receivers,
    epoch: () => epoch,
    send: (p, ack) => sender.socket.emit("message:send", p, ack as never),
    onDelivery: (fn) => void (handler = fn),
    extraFrames: () => extra,
    async close() {
      for (const c of clients) c.close();
    },
  };
}

export async function openBareRoom(url: string, roomId: string, receivers: number): Promise<OpenRoom> {
  const clients: Socket[] = await inBatches(receivers + 1, 10, async () => {
    const s = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("connect_error", reject);
    });
    return s;
  });
  for (const s of clients) await s.timeout(5000).emitWithAck("join", roomId);
  const [sender, ...rest] = clients;
  let handler: (counter: number) => void = () => {};
  for (const s of rest) s.on("msg", (m: { counter: number }) => handler(m.counter));
  return {
    roomId,
    receivers,
    epoch: () => 0,
    send: (p, ack) => sender.emit("msg", p, ack),
    onDelivery: (fn) => void (handler = fn),
    extraFrames: () => 0,
    async close() {
      for (const s of clients) s.close();
    },
  };
}
