/**
 * How BB84 sessions appear in RoomView.bb84: the server's session list, this client's live views
 * (sampled at most every VIEW_SAMPLE_MS, off the protocol's path, so a fast engine can't flood the store and React)
 * and the alarms. Pure list updates plus one small sampling timer per running session.
 */
import type { Bb84SessionSummary } from "@/lib/protocol";
import { stageRecord } from "@/lib/qkd/stages";
import type { Bb84Alarm, Bb84LiveView, QkdSnapshot, RoomBb84View } from "./bb84-types";

const MAX_SESSIONS_KEPT = 100;
/** Live views kept per room (the manager keeps twice as many sessions in memory). */
export const MAX_LIVE_KEPT = 20;
const MAX_ALARMS_KEPT = 10;
/** A running session's view is sampled at most this often (progress, not protocol: a few updates a second read fine). */
const VIEW_SAMPLE_MS = 100;

type PatchBb84 = (roomId: string, fn: (v: RoomBb84View) => RoomBb84View) => void;

/**
 * Publishes one session's live view. The protocol only marks the view dirty (no copy, no store
 * update, no "change" event on its critical path); a timer samples it at most every
 * VIEW_SAMPLE_MS, off the path of the frames. `force` publishes at once (start, end).
 */
export class LiveViewPublisher {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly patchBb84: PatchBb84,
    private readonly view: Bb84LiveView,
  ) {}

  publish(force: boolean): void {
    if (force) {
      if (this.timer) clearTimeout(this.timer);
      this.apply();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.apply(), VIEW_SAMPLE_MS);
    }
  }

  private apply() {
    this.timer = null;
    const view: Bb84LiveView = { ...this.view, transport: { ...this.view.transport } };
    this.patchBb84(view.roomId, (v) => {
      const live = v.live.filter((x) => x.sessionId !== view.sessionId);
      live.push(view);
      return { ...v, live: live.slice(-MAX_LIVE_KEPT) };
    });
  }
}

/** Adds an alarm, keeping the newest few. */
export function withAlarm(v: RoomBb84View, alarm: Bb84Alarm): RoomBb84View {
  return { ...v, alarms: [...v.alarms, alarm].slice(-MAX_ALARMS_KEPT) };
}

/** Oldest first by start time (id breaks ties), keeping the newest MAX_SESSIONS_KEPT. */
export function sortSessions(list: Bb84SessionSummary[]): Bb84SessionSummary[] {
  return list.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id < b.id ? -1 : 1)).slice(-MAX_SESSIONS_KEPT);
}

/** Puts a summary in the list; a "running" one never replaces a final one (a late ack, see Bb84Manager.onSummary). */
export function upsertSession(list: Bb84SessionSummary[], s: Bb84SessionSummary): Bb84SessionSummary[] {
  const i = list.findIndex((x) => x.id === s.id);
  if (i >= 0) {
    if (s.outcome === "running" && list[i].outcome !== "running") return list;
    const next = list.slice();
    next[i] = s;
    return next;
  }
  return sortSessions([...list, s]);
}

/** The snapshot a session shows before its engine's first step. */
export function emptySnapshot(summary: Bb84SessionSummary): QkdSnapshot {
  return {
    status: "idle",
    stage: "idle",
    fraction: 0,
    qubits: summary.qubits,
    detected: null,
    sifted: null,
    sampleSize: null,
    sampleErrors: null,
    qberEstimate: null,
    qberBound: null,
    qberThreshold: summary.qberThreshold,
    disclosedBits: null,
    roundTrips: null,
    fEC: null,
    finalLength: null,
    abort: null,
    timings: stageRecord(() => 0),
    eve: null,
  };
}
