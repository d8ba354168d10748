/**
 * Room keys: one AES-256-GCM key per epoch. As the epoch's leader (our own leaderOf computation),
 * make it and send every member whose key binding verifies a signed share wrapped under our pair
 * key; as a member, accept a share only from our own view of the epoch's leader, one key per epoch;
 * then adopt it: keep the last KEEP_EPOCHS keys and release the messages that were waiting for it.
 */
import { CryptoError, generateRoomKey, importRoomKey, openRoomKeyShare, wrapRoomKeyShare, type Identity } from "@/lib/crypto";
import type { CommandPayload, RoomkeyShared } from "@/lib/protocol";
import { ClientError, toClientError } from "../errors";
import type { EpochKeyStore } from "../persist";
import type { ClientStateStore, WarnFn } from "./client-state";
import type { Requester } from "./connection";
import type { MessageInbox } from "./message-inbox";
import type { MemberTrust } from "./member-trust";
import type { PairKeyring } from "./pair-keys";
import type { ReplayPolicy } from "./replay-policy";
import { KEEP_EPOCHS, type AppliedEpoch, type RoomRecord, type Roster } from "./roster";
import type { Scheduler } from "./scheduler";
import { tryEachKey } from "./try-keys";

type Shares = CommandPayload<"roomkey:share">["shares"];

export interface RoomKeysDeps {
  identity: Identity;
  request: Requester;
  roster: Pick<Roster, "get" | "isCurrent" | "nameOf" | "memberAt">;
  trust: Pick<MemberTrust, "bindingOk">;
  pairs: Pick<PairKeyring, "keysFor" | "candidates">;
  replay: Pick<ReplayPolicy, "forgetEpoch">;
  inbox: Pick<MessageInbox, "releaseWaiting">;
  store: Pick<ClientStateStore, "patchRoom">;
  scheduler: Pick<Scheduler, "closed" | "later" | "checkWaiters">;
  /** Every epoch key adopted is also kept here, so stored history decrypts after a reload. */
  epochKeys: Pick<EpochKeyStore, "put" | "get">;
  warn: WarnFn;
  fail(e: unknown): void;
}

/**
 * A check value for comparing two non-extractable AES keys: the encryption of a fixed block under
 * a fixed IV, computed locally and never sent (the IV is one no message uses: message IVs are
 * random, a collision has probability 2^-96).
 */
async function keyCheckValue(key: CryptoKey): Promise<string> {
  const iv = new Uint8Array(12).fill(0xff);
  const out = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new Uint8Array(16)));
  return Array.from(out, (b) => b.toString(16).padStart(2, "0")).join("");
}

function errorText(e: unknown): string {
  if (e instanceof CryptoError) return e.reason;
  return e instanceof Error ? e.message : String(e);
}

export class RoomKeys {
  private readonly userId: string;

  constructor(private readonly deps: RoomKeysDeps) {
    this.userId = deps.identity.userId;
  }

  /** A new epoch was applied: make its key if we lead it, then accept shares that raced ahead of it. */
  async onEpoch({ room, epoch, leaderId, members }: AppliedEpoch, storedShares: RoomkeyShared[] = []): Promise<void> {
    // A (re-)join: the share the server kept for this epoch comes first, so a leader that reloaded
    // takes back the key it made (its own share, kept as a key blob) instead of making a second one.
    for (const s of storedShares) if (s.roomId === room.roomId && s.epoch === epoch) await this.accept(s);
    // A presence update within the epoch may name us leader (the one before went offline unkeyed).
    if (leaderId === this.userId && !room.keys.has(epoch)) await this.distribute(room, epoch, members);
    const pending = room.pendingShares.filter((s) => s.epoch <= epoch);
    room.pendingShares = room.pendingShares.filter((s) => s.epoch > epoch);
    for (const s of pending) await this.accept(s);
  }

  /** A roomkey:shared: checked against our view of its epoch, unwrapped, adopted. Runs on the queue. */
  async accept(share: RoomkeyShared): Promise<void> {
    const { roster, warn } = this.deps;
    const room = roster.get(share.roomId);
    if (!room) return;
    const info = room.epochs.get(share.epoch);
    if (!info) {
      if (share.epoch > room.appliedEpoch) {
        room.pendingShares.push(share);
        if (room.pendingShares.length > 8) room.pendingShares.shift();
      } else {
        warn(share.roomId, "BAD_SHARE", `ignored a room key share for old epoch ${share.epoch}`);
      }
      return;
    }
    if (share.from !== info.leaderId) {
      warn(share.roomId, "BAD_SHARE", `refused a room key share from ${roster.nameOf(room, share.from)}, who is not the leader of epoch ${share.epoch}`);
      return;
    }
    const leader = info.members.get(share.from);
    if (!leader || !(await this.deps.trust.bindingOk(leader))) {
      warn(share.roomId, "BAD_SHARE", `refused the room key share for epoch ${share.epoch}: the leader's agreement key is not bound to their identity`);
      return;
    }
    let key: CryptoKey;
    let raw: Uint8Array;
    const held = room.keys.get(share.epoch);
    try {
      // The leader may have wrapped under our hybrid key a moment before or after we switched.
      const candidates = await this.deps.pairs.candidates(leader);
      const opened = await tryEachKey(candidates, (c) =>
        openRoomKeyShare(
          c.keys.wrapKey,
          leader.signingKey,
          share, // the recipient (us) is implicit on the wire and bound by the signature
          { roomId: share.roomId, epoch: share.epoch, recipientId: this.userId },
        ),
      );
      raw = opened.value;
      key = await importRoomKey(raw);
    } catch (e) {
      warn(share.roomId, "BAD_SHARE", `the room key share for epoch ${share.epoch} failed its check (${errorText(e)}) and was discarded`);
      return;
    }
    try {
      if (held) {
        // One key per epoch: a leader handing out a second, different key would split the room.
        if ((await keyCheckValue(held)) !== (await keyCheckValue(key))) {
          warn(share.roomId, "BAD_SHARE", `the leader sent a different key for epoch ${share.epoch}; kept the first one`);
        }
        return;
      }
      await this.keep(room.roomId, share.epoch, raw);
    } finally {
      raw.fill(0);
    }
    await this.adopt(room, share.epoch, key);
    // The server keeps each share as a key blob until acked. This in-memory client keeps the current
    // epoch's blob (a reload gets it back in JoinResult.keyShares) and acks the older epochs it held.
    this.ack(
      share.roomId,
      [...room.keys.keys()].filter((e) => e < share.epoch),
    );
  }

  /** Tells the server these epochs' shares arrived (it deletes its key blobs); failures only cost storage. */
  ack(roomId: string, epochs: number[]): void {
    if (epochs.length === 0 || this.deps.scheduler.closed) return;
    this.deps.request("roomkey:ack", { roomId, epochs: epochs.slice(0, 64) }).catch(() => {});
  }

  /** As the epoch's leader: a fresh room key, one signed wrapped share per verified member. */
  private async distribute(room: RoomRecord, epoch: number, members: AppliedEpoch["members"]) {
    const { raw, key } = await generateRoomKey();
    const shares: Shares = [];
    try {
      // Tabs of one identity share the key store and all see themselves as leader: the first key
      // stored for the epoch wins; a tab that lost adopts it and leaves the sharing to the winner.
      await this.keep(room.roomId, epoch, raw);
      const stored = await this.deps.epochKeys.get(room.roomId, epoch).catch(() => undefined);
      if (stored && (await keyCheckValue(stored)) !== (await keyCheckValue(key))) {
        await this.adopt(room, epoch, stored);
        return;
      }
      for (const m of members) {
        // Our own share too: the server keeps it as a key blob, so our other tabs and a reload read this epoch.
        if (!m.bindingValid) continue;
        try {
          const pair = await this.deps.pairs.keysFor(m);
          const share = await wrapRoomKeyShare(this.deps.identity, pair.wrapKey, raw, {
            roomId: room.roomId,
            epoch,
            senderId: this.userId,
            recipientId: m.userId,
          });
          shares.push({ to: share.to, iv: share.iv, wrapped: share.wrapped, signature: share.signature });
        } catch (e) {
          this.deps.warn(room.roomId, "BAD_SHARE", `could not wrap the room key for ${m.displayName}: ${errorText(e)}`);
        }
      }
    } finally {
      if (raw instanceof Uint8Array) raw.fill(0);
    }
    await this.adopt(room, epoch, key);
    this.ack(
      room.roomId,
      [...room.keys.keys()].filter((e) => e < epoch),
    );
    if (shares.length === 0) return;
    // Not awaited on the queue: the ack is a round trip and later events must not wait for it.
    void this.sendShares(room, epoch, shares);
  }

  /** Sends the epoch's shares; retries a few times on transient refusals while the epoch is current. */
  private async sendShares(room: RoomRecord, epoch: number, shares: Shares) {
    const { roster, scheduler } = this.deps;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.request("roomkey:share", { roomId: room.roomId, epoch, shares });
        return;
      } catch (e) {
        const err = toClientError(e);
        // A newer epoch started meanwhile (its own update re-keys) or we left: nothing to do.
        if (err.code === "STALE_EPOCH" || err.code === "NOT_A_MEMBER" || scheduler.closed) return;
        const current = roster.isCurrent(room) && room.appliedEpoch === epoch;
        if (current && attempt < 3 && (err.code === "RATE_LIMITED" || err.code === "TIMEOUT" || err.code === "OFFLINE")) {
          await new Promise((r) => scheduler.later(() => r(undefined), 250 * 2 ** attempt));
          if (room.appliedEpoch !== epoch) return;
          continue;
        }
        this.deps.fail(new ClientError(err.code, `room key distribution for epoch ${epoch} failed: ${err.message}`));
        return;
      }
    }
  }

  /**
   * The key shares the server kept for us while we were away (JoinResult.keyShares), oldest first.
   * A share for the current epoch goes the usual way (leader check, adopt). One for an earlier
   * epoch only serves history: it is accepted from a current member whose key binding verifies
   * and whose signature over the share verifies (a member can read the room anyway), and kept in
   * the EpochKeyStore. Each kept share is acked, so the server deletes its blob.
   */
  async acceptStored(roomId: string, shares: RoomkeyShared[]): Promise<void> {
    const room = this.deps.roster.get(roomId);
    if (!room) return;
    const kept: number[] = [];
    for (const share of shares) {
      if (share.roomId !== roomId) continue;
      if (room.epochs.has(share.epoch)) {
        await this.accept(share);
        continue;
      }
      const sender = this.deps.roster.memberAt(room, share.from, undefined);
      if (!sender || !(await this.deps.trust.bindingOk(sender))) {
        this.deps.warn(roomId, "BAD_SHARE", `a stored key share for epoch ${share.epoch} came from someone who is not a member; ignored`);
        continue;
      }
      let raw: Uint8Array | null = null;
      try {
        const candidates = await this.deps.pairs.candidates(sender);
        raw = (
          await tryEachKey(candidates, (c) =>
            openRoomKeyShare(c.keys.wrapKey, sender.signingKey, share, { roomId, epoch: share.epoch, recipientId: this.userId }),
          )
        ).value;
        await this.keep(roomId, share.epoch, raw);
        kept.push(share.epoch);
      } catch (e) {
        this.deps.warn(roomId, "BAD_SHARE", `a stored key share for epoch ${share.epoch} failed its check (${errorText(e)}) and was discarded`);
      } finally {
        raw?.fill(0);
      }
    }
    for (let i = 0; i < kept.length; i += 64) this.ack(roomId, kept.slice(i, i + 64));
  }

  /** Keeps an epoch key for history (a failing store costs history after a reload, not the live chat). */
  private async keep(roomId: string, epoch: number, raw: Uint8Array) {
    try {
      await this.deps.epochKeys.put(roomId, epoch, raw);
    } catch (e) {
      this.deps.warn(roomId, "STORAGE", `the key of epoch ${epoch} could not be kept for history (${errorText(e)})`);
    }
  }

  /** Stores an epoch key, prunes old ones and decrypts messages that were waiting for it. */
  private async adopt(room: RoomRecord, epoch: number, key: CryptoKey) {
    if (!this.deps.roster.isCurrent(room)) return;
    room.keys.set(epoch, key);
    const newest = Math.max(...room.keys.keys());
    for (const e of [...room.keys.keys()]) {
      if (e > newest - KEEP_EPOCHS) continue;
      room.keys.delete(e);
      this.deps.replay.forgetEpoch(room.roomId, e);
    }
    this.deps.store.patchRoom(room.roomId, (v) => ({ ...v, keyEpoch: newest, waitingForKey: !room.keys.has(v.epoch) }));
    this.deps.scheduler.checkWaiters();
    await this.deps.inbox.releaseWaiting(room, epoch, key);
  }
}
