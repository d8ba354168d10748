/**
 * Tells one connection of this node why it is being closed, then closes it, so the notice always
 * arrives first (session:replaced, the admin console's session:ended).
 *
 * Not `socket.emit(…)` followed by `socket.disconnect(true)`: with connection-state recovery (several
 * nodes, server/app.ts) Socket.IO routes every emit, even one to a single socket, through the
 * adapter's broadcast so it can be replayed after a reconnect, and the Redis streams adapter writes
 * it to the local connection only once its XADD to Redis has returned. By then disconnect(true),
 * which is synchronous, has closed the connection, and the notice was dropped every time.
 *
 * A local-only broadcast to the socket's own room skips the adapter's publish and writes the packet
 * into the engine.io connection now; engine.io's close() then waits for the write buffer to drain
 * before it closes the transport (WebSocket: the close frame follows the data frames), so the client
 * reads the notice before the disconnect. The notice is not stored for recovery (a closed-on-purpose
 * connection does not recover). One node or several: the same code path.
 */
import type { Socket } from "socket.io";

export function closeWithNotice(socket: Socket, event: string, payload: unknown): void {
  if (!socket.connected) return;
  // Each namespace types its events differently; this helper serves both (main and /admin).
  (socket.nsp.local.to(socket.id) as unknown as { emit(ev: string, p: unknown): void }).emit(event, payload);
  socket.disconnect(true);
}
