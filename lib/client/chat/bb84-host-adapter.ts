/**
 * The BB84 host adapter: what the BB84 session manager (lib/client/bb84-session.ts) may do with
 * this client, and nothing more: send its commands and frames, derive a session's frame key with a
 * present and correctly bound peer, read who else is in a room, patch the room's BB84 view, and
 * stage / commit a QKD key into the pair keys.
 */
import { deriveBb84FrameKey, type Identity } from "@/lib/crypto";
import type { CommandPayload } from "@/lib/protocol";
import type { RoomBb84View } from "../bb84-types";
import type { Bb84Host, Bb84ReportPayload } from "../bb84-session";
import { ClientError } from "../errors";
import type { ClientStateStore, WarnFn } from "./client-state";
import type { Requester } from "./connection";
import type { MemberTrust } from "./member-trust";
import { peerKeys, type PairKeyring } from "./pair-keys";
import type { Roster } from "./roster";

/** How long a tab that followed a session waits for the keys the tab that ran it shares. */
const SHARED_KEY_WAIT_MS = 10_000;

export interface Bb84HostDeps {
  identity: Identity;
  /** The server's URL (a BB84 Web Worker connects there with a ticket of ours). */
  url: string;
  request: Requester;
  roster: Pick<Roster, "has" | "currentMember" | "requirePeer">;
  trust: Pick<MemberTrust, "bindingOk">;
  pairs: Pick<PairKeyring, "stage" | "commit" | "adoptShared">;
  store: Pick<ClientStateStore, "view" | "patchRoom">;
  warn: WarnFn;
}

/** Builds the Bb84Host (bb84-session.ts) over this client's modules. */
export function createBb84Host({ identity, url, request, roster, trust, pairs, store, warn }: Bb84HostDeps): Bb84Host {
  return {
    userId: identity.userId,
    relay: async (p: { roomId: string; to: string; sessionId: string; frame: Uint8Array }) => {
      await request("bb84:relay", p);
    },
    start: (p: CommandPayload<"bb84:start">) => request("bb84:start", p),
    report: (p: Bb84ReportPayload) => request("bb84:report", p),
    claim: async (roomId: string, sessionId: string) => (await request("bb84:claim", { roomId, sessionId })).claimed,
    list: async (roomId: string) => (await request("bb84:list", { roomId })).sessions,
    frameKey: async (roomId: string, peerId: string, sessionId: string) => {
      const peer = roster.currentMember(roomId, peerId);
      if (!peer) throw new ClientError("UNKNOWN_PEER", "that member is not in this room");
      if (!(await trust.bindingOk(peer))) throw new ClientError("BINDING_FAILED", `${peer.displayName}'s agreement key is not signed by their identity key`);
      return deriveBb84FrameKey(identity, peerKeys(peer), roomId, sessionId);
    },
    hasRoom: (roomId: string) => roster.has(roomId),
    otherMembers: (roomId: string) => (store.view(roomId)?.members ?? []).filter((m) => !m.isMe).map((m) => m.userId),
    patchBb84: (roomId: string, fn: (v: RoomBb84View) => RoomBb84View) => {
      if (roster.has(roomId)) store.patchRoom(roomId, (v) => ({ ...v, bb84: fn(v.bb84) }));
    },
    stageQkdKey: async (peerId: string, sessionId: string, key: Uint8Array, info: { qber: number | null; keyBits: number }) => {
      await pairs.stage(roster.requirePeer(peerId), sessionId, key, info);
    },
    commitQkdKey: (peerId: string, sessionId: string, success: boolean) => pairs.commit(peerId, sessionId, success),
    adoptQkdKey: (peerId: string, sessionId: string) => pairs.adoptShared(roster.requirePeer(peerId), sessionId, SHARED_KEY_WAIT_MS),
    warn: (roomId: string, message: string) => warn(roomId, "BB84_FAILED", message),
    links: {
      url,
      ticket: async () => (await request("bb84:ticket", {})).ticket,
      route: async (roomId: string, sessionId: string, ticket: string) => {
        await request("bb84:route", { roomId, sessionId, ticket });
      },
    },
  };
}
