/**
 * Socket.IO's packet decoder, bounded so a partial binary packet holds next to nothing. The
 * default decoder keeps up to 10 attachments of an announced binary packet until the last one
 * arrives: announcing 10 and sending 9 × 1 MB held ~9.6 MB per connection, indefinitely.
 *
 * The protocol has one binary field (bb84:relay's frame), so one attachment per packet is kept:
 * - a packet announcing one attachment decodes as usual (the header waits for that one binary);
 * - a packet announcing 2–10 is decoded WITHOUT its attachments: each arriving binary is counted
 *   and dropped unread, and the packet is delivered with Socket.IO's placeholders in their place,
 *   so its handler refuses it (INVALID_PAYLOAD) as before and nothing but the header is held;
 * - more than 10, or a binary packet header over 64 KiB (the frame's envelope is tiny), throws,
 *   which Socket.IO turns into closing the connection.
 */
import * as parser from "socket.io-parser";

export const MAX_KEPT_ATTACHMENTS = 1;
export const MAX_ANNOUNCED_ATTACHMENTS = 10;
export const MAX_BINARY_HEADER_CHARS = 64 * 1024;

const BINARY_HEADER = /^([56])(\d+)-/;

class BoundedDecoder extends parser.Decoder {
  /** Attachments still to drop for the packet being skipped, and its header rewritten as plain. */
  private skipping: { remaining: number; plain: string } | null = null;

  constructor() {
    super({ maxAttachments: MAX_KEPT_ATTACHMENTS });
  }

  add(obj: unknown): void {
    if (typeof obj !== "string") {
      if (!this.skipping) return super.add(obj);
      if (--this.skipping.remaining === 0) {
        const { plain } = this.skipping;
        this.skipping = null;
        super.add(plain);
      }
      return;
    }
    if (this.skipping) throw new Error("got plaintext data when reconstructing a packet");
    const m = BINARY_HEADER.exec(obj);
    if (!m) return super.add(obj);
    if (obj.length > MAX_BINARY_HEADER_CHARS) throw new Error("binary packet header too large");
    const n = Number(m[2]);
    if (n <= MAX_KEPT_ATTACHMENTS) return super.add(obj);
    if (n > MAX_ANNOUNCED_ATTACHMENTS) throw new Error("too many attachments");
    // BINARY_EVENT (5) → EVENT (2), BINARY_ACK (6) → ACK (3); the placeholders stay plain objects.
    this.skipping = { remaining: n, plain: (m[1] === "5" ? "2" : "3") + obj.slice(m[0].length) };
  }

  destroy(): void {
    this.skipping = null;
    super.destroy();
  }
}

export const boundedParser = { ...parser, Decoder: BoundedDecoder };
