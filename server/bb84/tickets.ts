/**
 * The tickets of BB84 worker connections (server/bb84/links.ts has the commands): one-time, 32
 * random bytes, valid LIMITS.bb84TicketTtlMs, bound to the member connection that asked and its
 * identity; at most LIMITS.maxBb84LinksPerConnection tickets and links per member connection.
 */
import { randomBytes } from "node:crypto";
import { LIMITS } from "@/lib/protocol";
import { refuse } from "../refuse";
import type { QsecSocket } from "../socket-types";

interface Ticket {
  owner: string;
  userId: string;
  issuedAt: number;
}

export class Bb84Links {
  private tickets = new Map<string, Ticket>();

  /** `enabled` false (QSEC_BB84_WORKER_LINKS=0): bb84:ticket answers UNAVAILABLE. */
  constructor(readonly enabled = true) {}

  /** A new ticket for `owner` (an authenticated member connection). */
  issue(owner: QsecSocket): string {
    const now = Date.now();
    const links = owner.data.links;
    for (const [t, sid] of links) if (sid === null && this.expired(t, now)) links.delete(t);
    if (links.size >= LIMITS.maxBb84LinksPerConnection) refuse("BUSY", `at most ${LIMITS.maxBb84LinksPerConnection} BB84 worker connections per connection`);
    const ticket = randomBytes(32).toString("base64url");
    this.tickets.set(ticket, { owner: owner.id, userId: owner.data.userId!, issuedAt: now });
    links.set(ticket, null);
    return ticket;
  }

  /** Takes a ticket (one use): its owner and identity, or null when unknown or expired. */
  take(ticket: string): Ticket | null {
    const t = this.tickets.get(ticket);
    if (!t) return null;
    this.tickets.delete(ticket);
    return Date.now() - t.issuedAt > LIMITS.bb84TicketTtlMs ? null : t;
  }

  /** A member connection closed: its unused tickets are void. */
  dropTickets(owner: QsecSocket): void {
    for (const [t, sid] of owner.data.links) if (sid === null) this.tickets.delete(t);
  }

  private expired(ticket: string, now: number): boolean {
    const t = this.tickets.get(ticket);
    if (t && now - t.issuedAt <= LIMITS.bb84TicketTtlMs) return false;
    this.tickets.delete(ticket);
    return true;
  }
}
