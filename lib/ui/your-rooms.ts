/**
 * "Your rooms": the rooms this browser profile's identity joined, with the display name used there,
 * in localStorage (issue 12, item 1). Room ids and names only; no key and no message. A key backup
 * carries this list too, so a restore in a fresh browser brings the rooms back.
 */
import { displayNameSchema, roomIdSchema } from "@/lib/protocol";

const KEY = "qsec:rooms";
const MAX = 100;

export interface YourRoom {
  roomId: string;
  name: string;
  /** Milliseconds since the epoch of the last join from this profile. */
  lastJoined: number;
}

/** Keeps only well-formed entries, newest first, one per room, at most MAX. */
export function normalizeRooms(list: unknown): YourRoom[] {
  if (!Array.isArray(list)) return [];
  const seen = new Map<string, YourRoom>();
  for (const r of list as Partial<YourRoom>[]) {
    if (!r || typeof r !== "object") continue;
    if (!roomIdSchema.safeParse(r.roomId).success || !displayNameSchema.safeParse(r.name).success) continue;
    const lastJoined = typeof r.lastJoined === "number" && Number.isFinite(r.lastJoined) ? r.lastJoined : 0;
    const prev = seen.get(r.roomId as string);
    if (!prev || prev.lastJoined < lastJoined) seen.set(r.roomId as string, { roomId: r.roomId as string, name: r.name as string, lastJoined });
  }
  return [...seen.values()].sort((a, b) => b.lastJoined - a.lastJoined).slice(0, MAX);
}

export function recallRooms(): YourRoom[] {
  try {
    return normalizeRooms(JSON.parse(localStorage.getItem(KEY) ?? "[]"));
  } catch {
    return [];
  }
}

function save(list: YourRoom[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(normalizeRooms(list)));
    cachedRaw = null;
  } catch {
    /* not remembered */
  }
}

export function rememberRoom(roomId: string, name: string, now = Date.now()): void {
  save([{ roomId, name, lastJoined: now }, ...recallRooms().filter((r) => r.roomId !== roomId)]);
}

export function forgetRoom(roomId: string): void {
  save(recallRooms().filter((r) => r.roomId !== roomId));
}

/** Merges rooms from a restored backup with those already here (the newer join of a room wins). */
export function mergeRooms(rooms: unknown): void {
  save([...recallRooms(), ...normalizeRooms(rooms)]);
}

/** The name this profile used in a room, if it joined it before. */
export function roomName(roomId: string | undefined): string | null {
  if (!roomId) return null;
  return recallRooms().find((r) => r.roomId === roomId)?.name ?? null;
}

// useSyncExternalStore needs a stable snapshot: the parsed list is cached per raw string.
let cachedRaw: string | null = null;
let cachedList: YourRoom[] = [];
export function roomsSnapshot(): YourRoom[] {
  let raw: string;
  try {
    raw = localStorage.getItem(KEY) ?? "[]";
  } catch {
    return cachedList;
  }
  if (raw !== cachedRaw) {
    cachedRaw = raw;
    try {
      cachedList = normalizeRooms(JSON.parse(raw));
    } catch {
      cachedList = [];
    }
  }
  return cachedList;
}

export function subscribeRooms(onChange: () => void): () => void {
  const h = (e: StorageEvent) => {
    if (e.key === KEY || e.key === null) onChange();
  };
  window.addEventListener("storage", h);
  return () => window.removeEventListener("storage", h);
}
