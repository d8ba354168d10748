/**
 * How much the server has queued for a socket and not yet handed to the kernel: ws's
 * bufferedAmount plus engine.io's write buffer (packets waiting while the transport is busy).
 */
import { LIMITS } from "@/lib/protocol";
import type { Deps } from "./context";

export interface EngineConn {
  writeBuffer?: { data?: unknown }[];
  transport?: { socket?: { bufferedAmount?: number } };
}

export function backlogBytes(deps: Deps, socketId: string): number {
  const conn = deps.io.sockets.sockets.get(socketId)?.conn as unknown as EngineConn | undefined;
  return conn ? connBacklogBytes(conn) : 0;
}

/** The same, for an engine.io connection (server/send-guard.ts watches every one). */
export function connBacklogBytes(conn: EngineConn): number {
  let n = conn.transport?.socket?.bufferedAmount ?? 0;
  for (const p of conn.writeBuffer ?? []) {
    const d = p.data;
    n += typeof d === "string" ? d.length : d instanceof Uint8Array || d instanceof ArrayBuffer ? d.byteLength : 0;
  }
  return n;
}

export function backedUp(deps: Deps, socketId: string): boolean {
  return backlogBytes(deps, socketId) > LIMITS.maxReceiverBacklogBytes;
}
