/**
 * Inbound messages: every message:received is verified, then decrypted into the room's list, or
 * recorded visibly as "rejected" with a human-readable reason; nothing is dropped silently. A room
 * message opens under its epoch's key, and waits for that key (bounded in time and count) when it
 * has not arrived yet; a direct message opens under the pair's keys (tryEachKey). The replay rules
 * it applies are in replay-policy.ts.
 */
import { decodeChatPayload, decryptMessage, type AttachmentRef } from "@/lib/crypto";
import type { MessageReceived } from "@/lib/protocol";
import { rejectionReason } from "../reasons";
import type { ChatMessage } from "../types";
import type { ClientStateStore, WarnFn } from "./client-state";
import type { MemberTrust } from "./member-trust";
import type { PairKeyring } from "./pair-keys";
import type { ReplayPolicy } from "./replay-policy";
import { KEEP_EPOCHS, type RoomRecord, type Roster } from "./roster";
import type { Scheduler } from "./scheduler";
import { tryEachKey } from "./try-keys";

/** Messages held per room while their epoch key has not arrived (each up to ~87 KB). */
const MAX_WAITING_PER_ROOM = 200;

/** A key to open a message with, and whether it is a QKD-hardened (hybrid) pair key. */
interface MessageKey {
  key: CryptoKey;
  hybrid: boolean;
}

export interface MessageInboxDeps {
  userId: string;
  roster: Pick<Roster, "get" | "isCurrent" | "memberAt" | "nameOf">;
  trust: Pick<MemberTrust, "bindingOk">;
  pairs: Pick<PairKeyring, "candidates">;
  replay: Pick<ReplayPolicy, "guard" | "isStaleLive" | "check" | "record">;
  store: Pick<ClientStateStore, "view" | "addMessage">;
  scheduler: Pick<Scheduler, "later" | "serial">;
  /** "message" when a message became readable, "rejected" when it failed a check. */
  emit(event: "message" | "rejected", msg: ChatMessage): void;
  warn: WarnFn;
  /** How long a message may wait for its epoch key before it is marked rejected. */
  waitingTtlMs: number;
}

export class MessageInbox {
  constructor(private readonly deps: MessageInboxDeps) {}

  /** A message:received. Runs on the serial queue. */
  async receive(env: MessageReceived): Promise<void> {
    const { roster, userId } = this.deps;
    const room = roster.get(env.roomId);
    if (!room) {
      this.deps.warn(undefined, "NOT_JOINED", `a message for room ${env.roomId}, which you are not in, was discarded`);
      return;
    }
    if (this.deps.store.view(env.roomId)?.messages.some((m) => m.id === env.id)) return; // the server's id is unique
    const sender = roster.memberAt(room, env.from, env.to === null ? env.epoch : undefined);
    if (!sender) return this.reject(room, env, "Sender is not a member of this room — message discarded");
    if (env.to !== null) {
      if (env.to !== userId) return this.reject(room, env, "Direct message addressed to someone else — message discarded");
      if (!(await this.deps.trust.bindingOk(sender)))
        return this.reject(room, env, "Sender's agreement key is not bound to their identity — message discarded");
      let candidates: MessageKey[];
      try {
        candidates = (await this.deps.pairs.candidates(sender)).map((c) => ({ key: c.keys.dmKey, hybrid: c.hybrid }));
      } catch (e) {
        return this.reject(room, env, rejectionReason(e));
      }
      return this.open(room, env, candidates);
    }
    const key = room.keys.get(env.epoch);
    if (key) return this.open(room, env, [{ key, hybrid: false }]);
    const newest = room.keys.size ? Math.max(...room.keys.keys()) : null;
    if (newest !== null && env.epoch <= newest - KEEP_EPOCHS) {
      return this.reject(room, env, `Sent under epoch ${env.epoch}, whose key is no longer kept — message cannot be read`);
    }
    if (env.epoch > room.appliedEpoch + 64) {
      return this.reject(room, env, `Claims epoch ${env.epoch}, far ahead of the room (${room.appliedEpoch}) — message discarded`);
    }
    this.hold(room, env);
  }

  /** An epoch's key arrived: open the messages that were waiting for it. */
  async releaseWaiting(room: RoomRecord, epoch: number, key: CryptoKey): Promise<void> {
    for (const [id, env] of [...room.waiting]) {
      if (env.epoch !== epoch) continue;
      room.waiting.delete(id);
      await this.open(room, env, [{ key, hybrid: false }]);
    }
  }

  /** Waits for the key of its epoch (bounded in time and count), visibly. */
  private hold(room: RoomRecord, env: MessageReceived) {
    if (room.waiting.size >= MAX_WAITING_PER_ROOM) {
      return this.reject(room, env, `Too many messages are waiting for a room key — message discarded`);
    }
    room.waiting.set(env.id, env);
    this.deps.store.addMessage(room.roomId, this.baseMessage(room, env, "waiting-key"));
    this.deps.scheduler.later(() => {
      void this.deps.scheduler.serial(async () => {
        if (!this.deps.roster.isCurrent(room) || !room.waiting.has(env.id)) return;
        room.waiting.delete(env.id);
        this.reject(room, env, `The room key for epoch ${env.epoch} never arrived — message cannot be read`);
      });
    }, this.deps.waitingTtlMs);
  }

  /**
   * Verifies and decrypts into the room's messages. A room message has one key (its epoch's); a
   * direct message may be tried under several pair keys (current, pending hybrid, previous).
   */
  private async open(room: RoomRecord, env: MessageReceived, candidates: MessageKey[]) {
    const { roster, replay, userId } = this.deps;
    const direct = env.to !== null;
    const sender = roster.memberAt(room, env.from, direct ? undefined : env.epoch);
    if (!sender) return this.reject(room, env, "Sender is not a member of this room — message discarded");
    let text: string;
    let attachment: AttachmentRef | undefined;
    let hybrid = false;
    try {
      // decryptMessage verifies the signature first, then room, recipient and epoch, decrypts, and
      // only then records the counter in the replay guard (forgeries can't poison it).
      const opened = await tryEachKey(candidates, (c) =>
        decryptMessage(
          c.key,
          sender.signingKey,
          env,
          direct
            ? { roomId: room.roomId, recipientId: userId, replayGuard: replay.guard }
            : { roomId: room.roomId, epoch: env.epoch, replayGuard: replay.guard },
        ),
      );
      hybrid = opened.candidate.hybrid;
      const payload = decodeChatPayload(opened.value);
      if (replay.isStaleLive(payload.sentAt)) {
        return this.reject(room, env, `Replayed ${direct ? "direct " : ""}message (sent before this session started) — discarded`);
      }
      const verdict = replay.check(env);
      if (verdict === "duplicate") return;
      if (verdict === "replay") return this.reject(room, env, "Replayed message (already shown under another id) — discarded");
      text = payload.text;
      attachment = payload.attachment;
    } catch (e) {
      return this.reject(room, env, rejectionReason(e));
    }
    replay.record(env);
    const msg: ChatMessage = { ...this.baseMessage(room, env, "ok"), text, ...(attachment && { attachment }), ...(direct && { hybrid }) };
    this.deps.store.addMessage(room.roomId, msg);
    this.deps.emit("message", msg);
  }

  private reject(room: RoomRecord, env: MessageReceived, reason: string) {
    const msg: ChatMessage = { ...this.baseMessage(room, env, "rejected"), reason };
    this.deps.store.addMessage(room.roomId, msg);
    this.deps.emit("rejected", msg);
  }

  private baseMessage(room: RoomRecord, env: MessageReceived, status: ChatMessage["status"]): ChatMessage {
    return {
      id: env.id,
      from: env.from,
      fromName: this.deps.roster.nameOf(room, env.from),
      to: env.to,
      direct: env.to !== null,
      mine: env.from === this.deps.userId,
      epoch: env.epoch,
      ts: env.ts,
      status,
    };
  }
}
