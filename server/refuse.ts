/**
 * How the server says no: throw a ProtocolError with a code from the closed set. command.ts turns
 * it into the ack's `{ ok: false, error }`; anything else a handler throws becomes INTERNAL. A leaf,
 * so presence, services and handlers can all refuse without importing the command pipeline.
 */
import { ProtocolError, type ErrorCode } from "@/lib/protocol";

export function refuse(code: ErrorCode, message: string): never {
  throw new ProtocolError(code, message);
}
