/**
 * One backpressure rule for everything the server sends to a connection — command replies,
 * notifications, relays, broadcasts: every outgoing engine.io packet is counted, and every
 * `checkEveryBytes` the connection's unsent backlog (server/backpressure.ts) is measured. Past
 * `maxSocketBacklogBytes`, or when the address's connections together hold more than
 * `maxAddressBacklogBytes`, the connection is closed and its buffers dropped. Before, only relays
 * looked at the receiver's backlog: 8 sockets that never read but kept sending commands grew the
 * server by 728 MB in 10 s.
 *
 * The relay rules stay in front of this one (a DM or BB84 frame to a receiver past
 * LIMITS.maxReceiverBacklogBytes is refused to its sender), so an honest slow reader is refused
 * frames long before this ceiling closes it.
 */
import { LIMITS } from "@/lib/protocol";
import { connBacklogBytes, type EngineConn } from "./backpressure";
import type { QsecServer } from "./socket-types";
import type { TransportGuard } from "./transport-guard";

interface WatchedConn extends EngineConn {
  readyState: string;
  on(ev: "packetCreate", fn: (p: { data?: unknown }) => void): void;
  close(discard?: boolean): void;
  transport?: { socket?: { bufferedAmount?: number; terminate?: () => void } };
}

export interface SendLimits {
  maxSocketBacklogBytes: number;
  maxAddressBacklogBytes: number;
  checkEveryBytes: number;
}

export const DEFAULT_SEND_LIMITS: SendLimits = {
  maxSocketBacklogBytes: LIMITS.maxSocketBacklogBytes,
  maxAddressBacklogBytes: LIMITS.maxAddressBacklogBytes,
  checkEveryBytes: 64 * 1024,
};

const sizeOf = (d: unknown) => (typeof d === "string" ? d.length : d instanceof Uint8Array || d instanceof ArrayBuffer ? d.byteLength : 64);

export function guardSends(io: QsecServer, transports: TransportGuard, limits: SendLimits = DEFAULT_SEND_LIMITS): void {
  io.engine.on("connection", (conn: WatchedConn) => {
    let since = 0;
    let closing = false;
    conn.on("packetCreate", (packet) => {
      since += sizeOf(packet.data);
      if (since < limits.checkEveryBytes || closing) return;
      since = 0;
      const mine = connBacklogBytes(conn);
      let over = mine > limits.maxSocketBacklogBytes;
      if (!over && mine > limits.checkEveryBytes) {
        let total = 0;
        for (const other of transports.sameAddress(conn)) total += connBacklogBytes(other as EngineConn);
        over = total > limits.maxAddressBacklogBytes;
      }
      if (!over) return;
      closing = true;
      // Not inside engine.io's sendPacket (which emits this event before queueing the packet).
      setImmediate(() => {
        conn.close(true);
        conn.transport?.socket?.terminate?.(); // ws would otherwise keep its unsent bytes for the close handshake
      });
    });
  });
}
