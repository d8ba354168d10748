/**
 * Outbound messages: encrypt, sign and send one message, to the room under the current epoch's
 * key (waiting, bounded, for that key, and once more if the room re-keys in between), or directly
 * to one member under the pair's dmKey (epoch 0; the server delivers it to that member only).
 */
import { encodeChatPayload, encryptMessage, type AttachmentRef, type Identity } from "@/lib/crypto";
import { ClientError } from "../errors";
import type { ChatMessage } from "../types";
import type { ClientStateStore } from "./client-state";
import type { Requester } from "./connection";
import type { MemberTrust } from "./member-trust";
import type { PairKeyring } from "./pair-keys";
import type { ReplayPolicy } from "./replay-policy";
import type { Roster } from "./roster";
import type { Scheduler } from "./scheduler";

export interface MessageSenderDeps {
  identity: Identity;
  request: Requester;
  roster: Pick<Roster, "get" | "has" | "currentMember">;
  trust: Pick<MemberTrust, "bindingOk">;
  pairs: Pick<PairKeyring, "keysFor">;
  replay: Pick<ReplayPolicy, "nextCounter" | "record">;
  store: Pick<ClientStateStore, "view" | "connection" | "addMessage">;
  scheduler: Pick<Scheduler, "waitUntil">;
  /** Our own message, shown once its ack arrived (the client's "message" event). */
  emitMessage(msg: ChatMessage): void;
  /** How long a room message waits for the current epoch's key. */
  keyWaitMs: number;
}

export class MessageSender {
  private readonly userId: string;

  constructor(private readonly deps: MessageSenderDeps) {
    this.userId = deps.identity.userId;
  }

  /** Encrypts and sends; resolves with our own message as shown in the room. */
  async send(roomId: string, text: string, to?: string, attachment?: AttachmentRef): Promise<ChatMessage> {
    const { roster, request, replay, identity, keyWaitMs } = this.deps;
    const room = roster.get(roomId);
    if (!room) throw new ClientError("NOT_JOINED", `not in room ${roomId}`);
    const payloadBytes = encodeChatPayload({ text, sentAt: Date.now(), ...(attachment && { attachment }) });
    let sent: { id: string; ts: string; epoch: number; counter: number } | null = null;
    let sentHybrid = false;
    if (to !== undefined) {
      if (to === this.userId) throw new ClientError("UNKNOWN_PEER", "you cannot send a direct message to yourself");
      const peer = roster.currentMember(roomId, to);
      if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in this room");
      if (!(await this.deps.trust.bindingOk(peer)))
        throw new ClientError("BINDING_FAILED", `${peer.displayName}'s agreement key is not signed by their identity key`);
      const pair = await this.deps.pairs.keysFor(peer);
      const counter = await replay.nextCounter();
      const env = await encryptMessage(identity, pair.dmKey, { roomId, epoch: 0, senderId: this.userId, counter, to }, payloadBytes);
      const res = await request("message:send", { roomId, epoch: 0, counter, iv: env.iv, ciphertext: env.ciphertext, signature: env.signature, to });
      sent = { ...res, epoch: 0, counter };
      sentHybrid = pair.hybrid;
    } else {
      for (let attempt = 0; ; attempt++) {
        const epoch = await this.waitForKey(roomId, keyWaitMs);
        const key = roster.get(roomId)?.keys.get(epoch);
        if (!key) continue; // pruned between the wait and now: wait again
        const counter = await replay.nextCounter();
        const env = await encryptMessage(identity, key, { roomId, epoch, senderId: this.userId, counter }, payloadBytes);
        try {
          const res = await request("message:send", {
            roomId,
            epoch,
            counter,
            iv: env.iv,
            ciphertext: env.ciphertext,
            signature: env.signature,
            ...(attachment && { attachment: attachment.id }),
          });
          sent = { ...res, epoch, counter };
          break;
        } catch (e) {
          // The room re-keyed between our encryption and the server's check: wait for the new key.
          if (e instanceof ClientError && e.code === "STALE_EPOCH" && attempt < 3) {
            await this.deps.scheduler.waitUntil(
              () => (this.deps.store.view(roomId)?.epoch ?? epoch) !== epoch,
              keyWaitMs,
              () => new ClientError("NO_KEY", "the room moved to a new epoch but no update arrived"),
            );
            continue;
          }
          throw e;
        }
      }
    }
    const msg: ChatMessage = {
      id: sent.id,
      from: this.userId,
      fromName: roster.get(roomId)?.displayName ?? room.displayName,
      to: to ?? null,
      direct: to !== undefined,
      mine: true,
      epoch: sent.epoch,
      ts: sent.ts,
      status: "ok",
      text,
      ...(attachment && { attachment }),
      ...(to !== undefined && { hybrid: sentHybrid }),
    };
    // A history page fetched later holds this same envelope: shown once, by its id and its triple.
    replay.record({ id: sent.id, from: this.userId, roomId, epoch: sent.epoch, to: to ?? null, counter: sent.counter });
    if (roster.has(roomId)) {
      this.deps.store.addMessage(roomId, msg);
      this.deps.emitMessage(msg);
    }
    return msg;
  }

  /** Resolves with the current epoch once its key is held (and we are present), within ms. */
  private async waitForKey(roomId: string, ms: number): Promise<number> {
    const { store, roster } = this.deps;
    const ready = () => {
      const v = store.view(roomId);
      const room = roster.get(roomId);
      return !!v && !!room && v.present && room.keys.has(v.epoch) && store.connection === "online";
    };
    await this.deps.scheduler.waitUntil(ready, ms, () => {
      if (!roster.has(roomId)) return new ClientError("NOT_JOINED", `not in room ${roomId}`);
      if (store.connection !== "online") return new ClientError("OFFLINE", "not connected to the server");
      return new ClientError("NO_KEY", `the room key for epoch ${store.view(roomId)?.epoch} did not arrive within ${ms} ms`);
    });
    return store.view(roomId)!.epoch;
  }
}
