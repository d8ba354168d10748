/**
 * Socket.IO's packet decoder, with two limits on binary packets. The protocol has exactly one
 * binary field (bb84:relay's frame), so a packet may carry one attachment; the default (10) let a
 * client announce 10, send 9 × 1 MB and have the server hold ~9.6 MB per connection indefinitely
 * while it waited for the tenth. A binary packet's JSON header is small (the frame's envelope), so
 * a long one is refused too: what a partial packet can hold is ≤ 64 KiB. Either violation throws
 * in add(), which Socket.IO turns into closing the connection.
 */
import * as parser from "socket.io-parser";

export const MAX_ATTACHMENTS = 1;
export const MAX_BINARY_HEADER_CHARS = 64 * 1024;

class BoundedDecoder extends parser.Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }
  add(obj: unknown): void {
    // "5…" BINARY_EVENT, "6…" BINARY_ACK: the header waits in memory for its attachments.
    if (typeof obj === "string" && obj.length > MAX_BINARY_HEADER_CHARS && (obj[0] === "5" || obj[0] === "6")) {
      throw new Error("binary packet header too large");
    }
    super.add(obj);
  }
}

export const boundedParser = { ...parser, Decoder: BoundedDecoder };
