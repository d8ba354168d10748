/**
 * backup:fetch without an identity: a fresh browser restoring a key backup opens a short-lived
 * Socket.IO connection, asks once, and closes (the command is public; the server rate limits it
 * per address and per backup id).
 */
import { io } from "socket.io-client";
import type { Ack, CommandData, CommandPayload } from "@/lib/protocol";
import { ClientError } from "./errors";
import type { ClientSocket } from "./chat/connection";

export async function fetchBackupPublic(url: string, payload: CommandPayload<"backup:fetch">, timeoutMs = 10_000): Promise<CommandData<"backup:fetch">> {
  const socket: ClientSocket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
  try {
    const ack = await new Promise<Ack<CommandData<"backup:fetch">>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ClientError("TIMEOUT", `no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
      socket.on("connect_error", (e) => {
        clearTimeout(timer);
        reject(new ClientError("OFFLINE", `could not reach the server: ${e.message}`));
      });
      socket.emit("backup:fetch", payload, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    if (!ack.ok) throw new ClientError(ack.error.code, ack.error.message);
    return ack.data;
  } finally {
    socket.disconnect();
  }
}
