/**
 * The admin Socket.IO namespace (`/admin`) contract, shared by server/admin/namespace.ts and the
 * console's live tail. Only a socket whose handshake carries a valid admin session cookie gets in.
 * docs/admin.md documents each event.
 */
import { z } from "@/lib/protocol/zod";
import type { Ack, AckFn } from "@/lib/protocol/errors";
import type { LogEntry } from "@/lib/protocol/log-events";
import { roomIdSchema } from "@/lib/protocol/events";

export const ADMIN_NAMESPACE = "/admin";

/** A log row with the current display names of its actor and target (user data: render as text). */
export interface AdminLogEntry extends LogEntry {
  actorName: string | null;
  targetName: string | null;
}

export const tailSubscribeSchema = z.object({ roomId: roomIdSchema }).strict();
export const tailUnsubscribeSchema = tailSubscribeSchema;

export interface AdminClientToServerEvents {
  /** Start receiving `tail:appended` for a room (every row type, private ones included). */
  "tail:subscribe": (p: z.input<typeof tailSubscribeSchema>, ack: AckFn<{ roomId: string }>) => void;
  "tail:unsubscribe": (p: z.input<typeof tailUnsubscribeSchema>, ack: AckFn<{ roomId: string }>) => void;
}

export interface AdminServerToClientEvents {
  /** Rows of a subscribed room as they are stored (one frame per log flush). */
  "tail:appended": (p: { roomId: string; entries: AdminLogEntry[] }) => void;
  /** The session behind this socket ended (logout or expiry); the socket is closed next. */
  "session:ended": (p: { reason: "logout" | "expired" }) => void;
}

export const ADMIN_COMMANDS = ["tail:subscribe", "tail:unsubscribe"] as const satisfies readonly (keyof AdminClientToServerEvents)[];
export const ADMIN_NOTIFICATIONS = ["tail:appended", "session:ended"] as const satisfies readonly (keyof AdminServerToClientEvents)[];
export type AdminAck<T> = Ack<T>;

/** Most rooms one admin socket may tail at once. */
export const MAX_TAILS_PER_SOCKET = 16;
