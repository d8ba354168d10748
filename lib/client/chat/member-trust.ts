/**
 * Member trust: whether a member's published keys are bound to its identity, its fingerprint and
 * the Signal-style safety number with it, the user's "verified" marks, and the flag for a changed
 * signing key behind a display name already seen in a room. Marks and last-seen keys persist in
 * KeyValueStorage (not secret); bindings and fingerprints are cached per key.
 */
import { safetyNumber, shortFingerprint, verifyMember, type Identity } from "@/lib/crypto";
import type { MemberInfo } from "@/lib/protocol";
import type { QkdPairView } from "../bb84-types";
import type { KeyValueStorage } from "../storage";
import type { MemberView, RoomView } from "../types";
import type { ClientStateStore, WarnFn } from "./client-state";

/** The fields of a member that its key binding covers. */
export type BoundMember = Pick<MemberInfo, "userId" | "signingKey" | "agreementKey" | "agreementSig">;

export interface MemberTrustDeps {
  identity: Identity;
  storage: KeyValueStorage;
  store: Pick<ClientStateStore, "rooms" | "setRooms">;
  /** The member's QKD-hardening for the list (pair-keys.ts). */
  qkdView(m: MemberInfo): QkdPairView | null;
  warn: WarnFn;
}

const verifiedKey = (signingKey: string) => `verified:${signingKey}`;
const knownKey = (roomId: string, displayName: string) => `known:${roomId}:${displayName.toLocaleLowerCase()}`;

export class MemberTrust {
  private readonly userId: string;
  /** (room, signing key) pairs already warned about a bad agreement key binding. */
  private bindingWarned = new Set<string>();
  private bindingCache = new Map<string, Promise<boolean>>();
  private fingerprintCache = new Map<string, Promise<string>>();

  constructor(private readonly deps: MemberTrustDeps) {
    this.userId = deps.identity.userId;
  }

  /**
   * A member's published keys are usable only if its user id derives from its signing key and its
   * agreement key is signed by it; otherwise a server could list a victim's id and name with keys
   * of its own, and the room key or a DM would be wrapped for the server.
   */
  bindingOk(m: BoundMember): Promise<boolean> {
    const k = `${m.userId}|${m.signingKey}|${m.agreementKey}|${m.agreementSig}`;
    let p = this.bindingCache.get(k);
    if (!p) {
      p = Promise.resolve()
        .then(() => verifyMember({ userId: m.userId, signingKey: m.signingKey, agreementKey: m.agreementKey, agreementSig: m.agreementSig }))
        .catch(() => false);
      this.bindingCache.set(k, p);
    }
    return p;
  }

  /** The member list of an epoch as shown; warns once per (room, key) about a member whose binding fails. */
  async memberViews(roomId: string, members: MemberInfo[], leaderId: string | null): Promise<MemberView[]> {
    const views = await Promise.all(
      members.map(async (m) => {
        const isMe = m.userId === this.userId;
        const [bindingValid, fingerprint] = await Promise.all([this.bindingOk(m), this.fingerprint(m.signingKey)]);
        return {
          ...m,
          bindingValid,
          fingerprint,
          verified: !isMe && this.deps.storage.get(verifiedKey(m.signingKey)) === "1",
          keyChanged: !isMe && this.checkName(roomId, m),
          qkd: isMe ? null : this.deps.qkdView(m),
          isLeader: m.userId === leaderId,
          isMe,
        };
      }),
    );
    for (const m of views) {
      if (m.bindingValid || m.isMe || this.bindingWarned.has(`${roomId}|${m.signingKey}`)) continue;
      this.bindingWarned.add(`${roomId}|${m.signingKey}`);
      this.deps.warn(roomId, "BINDING_FAILED", `${m.displayName}'s agreement key is not signed by their identity key; they get no room key from us`);
    }
    return views;
  }

  /** Signal-style 60-digit safety number between us and a peer. */
  safetyNumberWith(peer: MemberInfo): Promise<string> {
    return safetyNumber({ userId: this.userId, signingKey: this.deps.identity.signingKey }, { userId: peer.userId, signingKey: peer.signingKey });
  }

  /** Marks a peer's current signing key verified (or not); verified also accepts a changed key behind its name. */
  markVerified(peer: MemberInfo, verified: boolean): void {
    if (verified) {
      this.deps.storage.set(verifiedKey(peer.signingKey), "1");
      this.rememberName(peer, true);
    } else {
      this.deps.storage.remove(verifiedKey(peer.signingKey));
    }
    this.refreshMemberFlags();
  }

  /** Accepts a peer's new key behind a known display name (clears keyChanged without verifying). */
  acceptKeyChange(peer: MemberInfo): void {
    this.rememberName(peer, true);
    this.refreshMemberFlags();
  }

  private fingerprint(signingKey: string): Promise<string> {
    let p = this.fingerprintCache.get(signingKey);
    if (!p) {
      p = Promise.resolve()
        .then(() => shortFingerprint(signingKey))
        .catch(() => "invalid key");
      this.fingerprintCache.set(signingKey, p);
    }
    return p;
  }

  /** True when a different signing key was seen before behind this display name in this room. */
  private checkName(roomId: string, m: MemberInfo): boolean {
    const k = knownKey(roomId, m.displayName);
    const prev = this.deps.storage.get(k);
    if (prev === null) {
      this.deps.storage.set(k, m.signingKey);
      return false;
    }
    return prev !== m.signingKey;
  }

  private rememberName(peer: MemberInfo, overwrite: boolean) {
    for (const [roomId, v] of Object.entries(this.deps.store.rooms)) {
      const m = v.members.find((x) => x.userId === peer.userId);
      if (!m) continue;
      const k = knownKey(roomId, m.displayName);
      if (overwrite || this.deps.storage.get(k) === null) this.deps.storage.set(k, m.signingKey);
    }
  }

  private refreshMemberFlags() {
    const storage = this.deps.storage;
    const rooms: Record<string, RoomView> = {};
    for (const [roomId, v] of Object.entries(this.deps.store.rooms)) {
      rooms[roomId] = {
        ...v,
        members: v.members.map((m) =>
          m.isMe
            ? m
            : { ...m, verified: storage.get(verifiedKey(m.signingKey)) === "1", keyChanged: storage.get(knownKey(roomId, m.displayName)) !== m.signingKey },
        ),
      };
    }
    this.deps.store.setRooms(rooms);
  }
}
