/**
 * Stored history (issue 12, item 4): pages of the room's envelopes from history:fetch, newest
 * first, each the message:received payload exactly as it was relayed. Every envelope is verified
 * (the sender's Ed25519 signature over header and ciphertext, room, epoch, recipient) and
 * decrypted under the epoch key this member held (the EpochKeyStore keeps them across reloads) or,
 * for a direct message, the pair key. What can't be opened is shown, not dropped: "not available"
 * when we never held its key (sent before we joined or while we were not a member), "rejected"
 * with a reason when it fails a check. De-duplication and the replay rule for stored envelopes
 * are in replay-policy.ts (one message per id, one id per (sender, scope, counter)).
 */
import { decodeChatPayload, decryptMessage } from "@/lib/crypto";
import { LIMITS, type CommandPayload, type HistoryMessage, type HistoryPage, type MemberInfo } from "@/lib/protocol";
import { ClientError } from "../errors";
import type { EpochKeyStore } from "../persist";
import { rejectionReason } from "../reasons";
import type { ChatMessage } from "../types";
import type { ClientStateStore } from "./client-state";
import type { Requester } from "./connection";
import type { PairKeyring } from "./pair-keys";
import type { ReplayPolicy } from "./replay-policy";
import type { RoomRecord, Roster } from "./roster";
import { tryEachKey } from "./try-keys";

/** Envelopes asked for the newest page (small: it is what the room shows first)... */
export const HISTORY_PAGE = 100;
/** ...and for each older page while scrolling back (a page the timeline reveals at a time). */
export const HISTORY_OLDER_PAGE = 200;
/** ...and for each page when the whole history is asked for at once (loadAll: the server's maximum). */
export const HISTORY_BULK_PAGE = LIMITS.maxHistoryFetch;

/**
 * User Timing measures (performance.measure) of the history path, so a profiler or bench:history
 * can tell where the time goes: the request of a page (server + transfer), the verify + decrypt of
 * a page, and its merge into the room's messages. Names only, never content.
 */
export const HISTORY_MEASURES = { fetch: "qsec:history:fetch", open: "qsec:history:open", commit: "qsec:history:commit", all: "qsec:history:all" } as const;
function measure(name: string, start: number, detail?: Record<string, number>): void {
  const perf = (globalThis as { performance?: Performance }).performance;
  try {
    perf?.measure?.(name, { start, end: perf.now(), ...(detail && { detail }) });
  } catch {
    /* no User Timing here: nothing to record */
  }
}
const now = (): number => (globalThis as { performance?: Performance }).performance?.now() ?? Date.now();

export interface HistoryDeps {
  userId: string;
  request: Requester;
  roster: Pick<Roster, "get" | "memberAt" | "nameOf">;
  pairs: Pick<PairKeyring, "candidates">;
  replay: Pick<ReplayPolicy, "check" | "record">;
  store: Pick<ClientStateStore, "view" | "addHistory" | "patchHistory">;
  epochKeys: Pick<EpochKeyStore, "get">;
}

interface PageKeys {
  epoch(epoch: number): Promise<CryptoKey | undefined>;
  pair(peer: MemberInfo): Promise<CryptoKey[]>;
}

/** Envelopes of one page being opened at once (openAll). */
const OPEN_LANES = 32;

/** loadAll merges the pages opened meanwhile at most this often (ms), and once at the end. */
const MERGE_EVERY_MS = 1000;

/** Older pages kept prepared ahead while the reader pages back through history. */
const AHEAD_PAGES = 2;

/** A page fetched and opened ahead of being asked for (History.ahead). */
interface Prepared {
  before: number | undefined;
  limit: number;
  promise: Promise<{ page: HistoryPage; opened: ChatMessage[] } | null>;
  /** Set once the page is fetched and opened (so a load can take it without waiting). */
  done?: { page: HistoryPage; opened: ChatMessage[] } | null;
}

export class History {
  private readonly inFlight = new Map<string, Promise<number>>();
  /** Per room, a loadAll under way (later calls share it). */
  private readonly allInFlight = new Map<string, Promise<number>>();
  /** Per room, the next older page, fetched and opened while the current one is shown. */
  private readonly ahead = new Map<string, Prepared[]>();

  constructor(private readonly deps: HistoryDeps) {}

  /**
   * Loads the next older page into the room's messages (the newest page on the first call).
   * Resolves with the number of envelopes the page held (paging back, older pages already prepared
   * are shown in the same step and counted too); 0 when nothing older is left (or the room
   * is ephemeral). Calls for one room while a page is loading share that page. As soon as a page is
   * in, the next older one is fetched, verified and decrypted in the background, so scrolling back
   * through a long history waits neither for the network nor for the crypto of the page it asks for.
   */
  loadOlder(roomId: string, limit?: number): Promise<number> {
    const running = this.inFlight.get(roomId);
    if (running) return running;
    const p = this.load(roomId, limit).finally(() => this.inFlight.delete(roomId));
    this.inFlight.set(roomId, p);
    return p;
  }

  /**
   * Loads every older envelope of the room we may read, verified and decrypted, into its messages:
   * pages of HISTORY_BULK_PAGE, each fetched while the one before it is being opened (so the
   * network and the server overlap the crypto), each page's envelopes opened all at once, and each
   * merged in one store update as soon as it and every newer page are in. Pages already prepared
   * ahead are used. Resolves with the number of envelopes loaded. A loadOlder running meanwhile
   * is waited for; a loadOlder asked meanwhile shares this load.
   */
  loadAll(roomId: string): Promise<number> {
    const all = this.allInFlight.get(roomId);
    if (all) return all;
    const p = (async () => {
      for (let running = this.inFlight.get(roomId); running; running = this.inFlight.get(roomId)) await running.catch(() => 0);
      const own = this.loadRest(roomId);
      this.inFlight.set(roomId, own);
      try {
        return await own;
      } finally {
        if (this.inFlight.get(roomId) === own) this.inFlight.delete(roomId);
      }
    })().finally(() => this.allInFlight.delete(roomId));
    this.allInFlight.set(roomId, p);
    return p;
  }

  private async loadRest(roomId: string): Promise<number> {
    const { store } = this.deps;
    const view = store.view(roomId);
    if (!view) return 0;
    let cursor = view.history.nextBefore;
    if (cursor === null) return 0;
    const started = now();
    store.patchHistory(roomId, { loading: true, error: null });
    // What was prepared ahead (pages of the scroll path) is taken as it is, then nothing more is.
    const queue = this.ahead.get(roomId) ?? [];
    this.ahead.delete(roomId);
    let count = 0;
    // Opened pages are merged together at most every MERGE_EVERY_MS (and at the end): each merge
    // re-renders the timeline on the main thread, which also runs the crypto's continuations and
    // receives the next page, so one render per page made every later page wait.
    const batch: { page: HistoryPage; opened: ChatMessage[] }[] = [];
    let merged = now();
    const merge = () => {
      this.commit(roomId, batch.splice(0));
      merged = now();
    };
    try {
      for (const prepared of queue) {
        if (prepared.before !== cursor || cursor === null) break;
        const ready = await prepared.promise.catch(() => undefined);
        if (!ready) break;
        const opened = await this.reopenUnavailable(roomId, ready);
        if (!opened) return count;
        batch.push({ page: ready.page, opened });
        count += ready.page.messages.length;
        cursor = ready.page.nextBefore;
      }
      // Page k+1 is asked as soon as page k is in (the request needs k's cursor), while k is opened;
      // pages are opened as they arrive and merged oldest-last, in order.
      const fetchFrom = (before: number | undefined): Promise<HistoryPage> =>
        this.fetchPage(before === undefined ? { roomId, limit: HISTORY_BULK_PAGE } : { roomId, before, limit: HISTORY_BULK_PAGE });
      const keysOf = new Map<RoomRecord, PageKeys>();
      const openPage = (page: HistoryPage): Promise<ChatMessage[] | null> => {
        const room = this.deps.roster.get(roomId);
        if (!room) return Promise.resolve(null);
        let keys = keysOf.get(room);
        if (!keys) keysOf.set(room, (keys = this.pageKeys(room)));
        return this.openAll(room, page, keys);
      };
      const opening: Promise<{ page: HistoryPage; opened: ChatMessage[] | null }>[] = [];
      let fetchError: unknown = null;
      let wake: () => void = () => {};
      let done = false;
      const fetching = (async () => {
        for (let before = cursor; before !== null;) {
          const page = await fetchFrom(before);
          const opened = openPage(page).then((o) => ({ page, opened: o }));
          opened.catch(() => undefined);
          opening.push(opened);
          wake();
          before = page.nextBefore;
        }
      })().catch((e: unknown) => {
        fetchError = e;
      });
      void fetching.finally(() => {
        done = true;
        wake();
      });
      for (let i = 0; ; i++) {
        while (i >= opening.length && !done) await new Promise<void>((r) => (wake = r));
        if (i >= opening.length) break;
        const { page, opened } = await opening[i];
        if (!opened) return count;
        batch.push({ page, opened });
        count += page.messages.length;
        if (now() - merged >= MERGE_EVERY_MS) merge();
      }
      merge();
      if (fetchError) throw fetchError;
      store.patchHistory(roomId, { loading: false });
      measure(HISTORY_MEASURES.all, started, { envelopes: count });
      return count;
    } catch (e) {
      if (this.deps.roster.get(roomId)) merge();
      store.patchHistory(roomId, { loading: false, error: rejectionReason(e) });
      throw e;
    }
  }

  /** Forgets a room's page prepared ahead (the member left the room). */
  forget(roomId: string): void {
    this.ahead.delete(roomId);
  }

  /** Keeps up to `depth` pages prepared after `cursor`, each started when the one before it has its cursor. */
  private refill(roomId: string, queue: Prepared[], cursor: number | null, limit: number, depth: number): void {
    if (cursor === null || queue.length >= depth || this.ahead.get(roomId) !== queue || !this.deps.roster.get(roomId)) return;
    const last = queue[queue.length - 1];
    if (!last) {
      const next = this.prepare(roomId, cursor, limit);
      next.promise.catch(() => undefined);
      queue.push(next);
      return this.refill(roomId, queue, cursor, limit, depth);
    }
    void last.promise.then(
      (r) => {
        if (!r || queue[queue.length - 1] !== last) return;
        if (r.page.nextBefore === null || queue.length >= depth || this.ahead.get(roomId) !== queue) return;
        const next = this.prepare(roomId, r.page.nextBefore, limit);
        next.promise.catch(() => undefined);
        queue.push(next);
        this.refill(roomId, queue, r.page.nextBefore, limit, depth);
      },
      () => undefined,
    );
  }

  /** Fetches a page and opens its envelopes (verify + decrypt, all at once): nothing is shown yet. */
  private prepare(roomId: string, before: number | undefined, limit: number): Prepared {
    const promise = (async () => {
      const page = await this.fetchPage(before === undefined ? { roomId, limit } : { roomId, before, limit });
      const room = this.deps.roster.get(roomId);
      if (!room) return null;
      const opened = await this.openAll(room, page, this.pageKeys(room));
      return { page, opened };
    })();
    const prepared: Prepared = { before, limit, promise };
    promise.then(
      (v) => (prepared.done = v),
      () => undefined,
    );
    return prepared;
  }

  private async load(roomId: string, asked: number | undefined): Promise<number> {
    const { store } = this.deps;
    const view = store.view(roomId);
    if (!view) return 0;
    const before = view.history.nextBefore;
    if (before === null) return 0; // nothing older we may read
    const limit = asked ?? (before === undefined ? HISTORY_PAGE : HISTORY_OLDER_PAGE);
    store.patchHistory(roomId, { loading: true, error: null });
    try {
      const queue = this.ahead.get(roomId) ?? [];
      this.ahead.set(roomId, queue);
      let prepared = queue.shift();
      if (!prepared || prepared.before !== before || prepared.limit !== limit) {
        queue.length = 0;
        prepared = this.prepare(roomId, before, limit);
      }
      let ready = await prepared.promise.catch(() => undefined);
      // A page prepared ahead that failed (e.g. the connection dropped meanwhile) is asked again now.
      if (ready === undefined) ready = await this.prepare(roomId, before, limit).promise;
      if (!ready) return 0;
      const { page } = ready;
      const opened = await this.reopenUnavailable(roomId, ready);
      if (!opened) return 0;
      // The next older pages, while this one is merged and rendered: one after the newest page, two
      // once the reader pages back (so neither the network nor the crypto of a page gates the next).
      const pageLimit = asked ?? HISTORY_OLDER_PAGE;
      const depth = before === undefined ? 1 : AHEAD_PAGES;
      this.refill(roomId, queue, page.nextBefore, pageLimit, depth);
      this.commit(roomId, [{ page, opened }]);
      let count = page.messages.length;
      // Paging back, older pages already fetched and opened are shown at once too (one step, not one per page).
      let cursor = page.nextBefore;
      for (let taken = 0; before !== undefined && asked === undefined && taken < AHEAD_PAGES && cursor !== null; taken++) {
        const next = queue[0];
        const done = next?.done;
        if (!next || !done || next.before !== cursor || done.opened.some((m) => m.status === "unavailable")) break;
        queue.shift();
        this.refill(roomId, queue, done.page.nextBefore, pageLimit, depth);
        this.commit(roomId, [done]);
        count += done.page.messages.length;
        cursor = done.page.nextBefore;
      }
      store.patchHistory(roomId, { loading: false });
      return count;
    } catch (e) {
      store.patchHistory(roomId, { loading: false, error: rejectionReason(e) });
      throw e;
    }
  }

  /**
   * Opens a page's envelopes (verify + decrypt), OPEN_LANES at a time: enough to keep WebCrypto
   * busy, few enough that the main thread's queue never holds thousands of crypto completions
   * ahead of the reply to the next page's request (which starts the request after it).
   */
  private async openAll(room: RoomRecord, page: HistoryPage, keys: PageKeys): Promise<ChatMessage[]> {
    const t0 = now();
    const envs = page.messages;
    const opened: ChatMessage[] = new Array<ChatMessage>(envs.length);
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < envs.length; i = next++) opened[i] = await this.open(room, envs[i], keys);
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_LANES, envs.length) }, lane));
    measure(HISTORY_MEASURES.open, t0, { envelopes: opened.length });
    return opened;
  }

  /** Opened ahead, a page may have missed a key that came since (a key blob, a new share): tries those again. Null: we left the room. */
  private async reopenUnavailable(roomId: string, ready: { page: HistoryPage; opened: ChatMessage[] }): Promise<ChatMessage[] | null> {
    const { page, opened } = ready;
    if (!opened.some((m) => m.status === "unavailable")) return opened;
    const room = this.deps.roster.get(roomId);
    if (!room) return null;
    const keys = this.pageKeys(room);
    return Promise.all(opened.map((m, i) => (m.status === "unavailable" ? this.open(room, page.messages[i], keys) : Promise.resolve(m))));
  }

  /**
   * Shows opened pages (older than what is shown; the newest of them first) in one store update:
   * the replay set decides, oldest first.
   */
  private commit(roomId: string, pages: readonly { page: HistoryPage; opened: ChatMessage[] }[]): void {
    if (!pages.length) return;
    const t0 = now();
    const { store } = this.deps;
    const shown: ChatMessage[] = [];
    let envelopes = 0;
    // Newest first on the wire; the replay set is consulted in that order, shown oldest first.
    for (const { page, opened } of pages) {
      envelopes += opened.length;
      for (let i = 0; i < opened.length; i++) {
        const msg = opened[i];
        if (msg.status === "ok") {
          const verdict = this.deps.replay.check(page.messages[i]);
          if (verdict === "duplicate") continue;
          if (verdict === "replay") {
            shown.push({ ...msg, status: "rejected", text: undefined, reason: "Replayed message (already shown under another id) — discarded" });
            continue;
          }
          this.deps.replay.record(page.messages[i]);
        }
        shown.push(msg);
      }
    }
    shown.reverse();
    store.addHistory(roomId, shown);
    const oldest = pages[pages.length - 1].page;
    store.patchHistory(roomId, { nextBefore: oldest.nextBefore, visibleFrom: oldest.visibleFrom });
    measure(HISTORY_MEASURES.commit, t0, { envelopes });
  }

  /**
   * history:fetch is charged to the server's history budget (rows per second per connection, after
   * a burst that covers a 10,000-message room): a reader paging further waits instead of failing.
   */
  private async fetchPage(payload: CommandPayload<"history:fetch">): Promise<HistoryPage> {
    for (let attempt = 0; ; attempt++) {
      try {
        const t0 = now();
        const page = await this.deps.request("history:fetch", payload);
        measure(HISTORY_MEASURES.fetch, t0, { envelopes: page.messages.length });
        return page;
      } catch (e) {
        if (!(e instanceof ClientError && e.code === "RATE_LIMITED") || attempt >= 8) throw e;
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /** The keys a page's envelopes need, each looked up once per page (a page is opened all at once). */
  private pageKeys(room: RoomRecord): PageKeys {
    const epochs = new Map<number, Promise<CryptoKey | undefined>>();
    const pairs = new Map<string, Promise<CryptoKey[]>>();
    return {
      epoch: (epoch) => {
        let p = epochs.get(epoch);
        if (!p) epochs.set(epoch, (p = Promise.resolve(room.keys.get(epoch) ?? this.deps.epochKeys.get(room.roomId, epoch))));
        return p;
      },
      pair: (peer) => {
        let p = pairs.get(peer.userId);
        if (!p) pairs.set(peer.userId, (p = this.deps.pairs.candidates(peer).then((cs) => cs.map((c) => c.keys.dmKey))));
        return p;
      },
    };
  }

  /** One stored envelope → the message as shown (ok, not available, or rejected with a reason). */
  private async open(room: RoomRecord, env: HistoryMessage, pageKeys: PageKeys): Promise<ChatMessage> {
    const { roster, userId } = this.deps;
    const direct = env.to !== null;
    const base: ChatMessage = {
      id: env.id,
      from: env.from,
      fromName: roster.nameOf(room, env.from),
      to: env.to,
      direct,
      mine: env.from === userId,
      epoch: env.epoch,
      ts: env.ts,
      status: "ok",
      fromHistory: true,
      cursor: env.cursor,
    };
    const sender = roster.memberAt(room, env.from, undefined);
    if (!sender) return { ...base, status: "unavailable", reason: "Sent by someone who is no longer a member — their signature can't be checked" };
    try {
      let key: CryptoKey | undefined;
      let keys: CryptoKey[];
      if (direct) {
        const peerId = env.from === userId ? env.to! : env.from;
        if (env.from !== userId && env.to !== userId) return { ...base, status: "rejected", reason: "Direct message between two other members — discarded" };
        const peer: MemberInfo | undefined = peerId === env.from ? sender : roster.memberAt(room, peerId, undefined);
        if (!peer) return { ...base, status: "unavailable", reason: "A direct message with someone who is no longer a member" };
        keys = await pageKeys.pair(peer);
      } else {
        key = await pageKeys.epoch(env.epoch);
        if (!key) return { ...base, status: "unavailable", reason: "Sent under a room key you never held — not available" };
        keys = [key];
      }
      const opened = await tryEachKey(keys, (k) =>
        decryptMessage(k, sender.signingKey, env, direct ? { roomId: room.roomId, recipientId: env.to! } : { roomId: room.roomId, epoch: env.epoch }),
      );
      const payload = decodeChatPayload(opened.value);
      return { ...base, text: payload.text, ...(payload.attachment && { attachment: payload.attachment }) };
    } catch (e) {
      return { ...base, status: "rejected", reason: rejectionReason(e) };
    }
  }
}
