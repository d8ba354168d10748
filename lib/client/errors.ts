import type { ErrorCode } from "@/lib/protocol";

/** Codes the client adds to the server's closed set. */
export type ClientErrorCode =
  | ErrorCode
  | "TIMEOUT" // no ack (or no room key, or no connection) in time
  | "OFFLINE" // the client is closed or could not connect
  | "NO_KEY" // the room key for the current epoch did not arrive in time
  | "NOT_JOINED" // a room this client is not in
  | "SESSION_REPLACED" // the same identity connected elsewhere; this client stops
  | "LEADER_MISMATCH" // the server's leaderId differs from leaderOf(members) (warning)
  | "BAD_SHARE" // a room key share that could not be accepted (warning)
  | "BINDING_FAILED" // a member's agreement key is not signed by its signing key (warning)
  | "TOO_MANY_MEMBERS" // the server listed more members than a room may hold; extras ignored (warning)
  | "CONFUSABLE_NAMES" // two members' display names look alike (warning)
  | "BB84_FAILED" // a BB84 session could not start or report (warning)
  | "STORAGE" // an epoch key could not be kept for history (warning)
  | "UPLOAD_FAILED" // an attachment upload was refused or could not finish
  | "DOWNLOAD_FAILED" // an attachment download was refused or could not finish
  | "CANCELLED"; // the user cancelled a transfer

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string) {
    super(message);
    this.name = "ClientError";
    this.code = code;
  }
}

/** Any failure as a ClientError (an unexpected one becomes INTERNAL with its message). */
export function toClientError(e: unknown): ClientError {
  if (e instanceof ClientError) return e;
  return new ClientError("INTERNAL", e instanceof Error ? e.message : String(e));
}
