"use client";
/**
 * One room in the admin console. Everything shown comes from the server as data and is rendered as
 * text (React escapes it); there is no key material or ciphertext to show: the database holds none.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { io, type Socket } from "socket.io-client";
import { Badge, Button, Panel } from "@/app/_components/ui";
import { LOG_EVENT_TYPES, type LogEventType } from "@/lib/protocol/log-events";
import type { Bb84SessionSummary, ChannelSettings } from "@/lib/protocol/events";
import { logFilterToParams, matchesLogFilter, parseLogFilterParams, type LogFilter } from "@/lib/admin/log-filter";
import { ADMIN_NAMESPACE, type AdminClientToServerEvents, type AdminLogEntry, type AdminServerToClientEvents } from "@/lib/admin/events";
import type { RoomDetail } from "@/server/admin/rooms.query";
import { Bb84Sessions } from "./bb84-sessions";
import { ChannelControls } from "./channel-controls";
import { LocalTime, ZoneName } from "@/app/_components/local-time";
import { LogMeta } from "@/app/_components/log-meta";
import { leaveConsole } from "../_lib/leave-console";

type Applied = Pick<LogFilter, "types"> & Partial<Pick<LogFilter, "actor" | "from" | "to" | "text">>;
type TailState = "connecting" | "live" | "offline";

const short = (id: string | null) => (id ? id.slice(0, 8) : "");
const pad = (n: number) => String(n).padStart(2, "0");
/** A Date as a datetime-local input's value (the viewer's zone). */
const toLocalInput = (d: Date) =>
  `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;

function Who({ id, name }: { id: string | null; name: string | null }) {
  if (!id) return <span className="text-muted">—</span>;
  return (
    <span title={id}>
      {name !== null && <span data-testid="who-name">{name}</span>} <span className="font-mono text-xs text-muted">{short(id)}</span>
    </span>
  );
}

export function RoomConsole({
  room,
  initialLogs,
  initialSessions,
}: {
  room: RoomDetail;
  initialLogs: { entries: AdminLogEntry[]; nextCursor: number | null };
  initialSessions: Bb84SessionSummary[];
}) {
  const roomId = room.id;
  const api = `/admin/api/rooms/${encodeURIComponent(roomId)}`;
  const [entries, setEntries] = useState<AdminLogEntry[]>(initialLogs.entries);
  const [cursor, setCursor] = useState<number | null>(initialLogs.nextCursor);
  const [applied, setApplied] = useState<Applied>({ types: [] });
  const appliedRef = useRef<Applied>(applied);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [tail, setTail] = useState<TailState>("connecting");
  const [members, setMembers] = useState(room.members);
  // Names for the log's metadata and the BB84 table and chart: members present now, and anyone named in the loaded log rows.
  const names = useMemo(() => {
    const n: Record<string, string> = {};
    for (const e of entries) {
      if (e.actorId && e.actorName) n[e.actorId] = e.actorName;
      if (e.targetId && e.targetName) n[e.targetId] = e.targetName;
    }
    for (const m of members) n[m.userId] = m.displayName;
    return n;
  }, [entries, members]);
  const [channel, setChannel] = useState<ChannelSettings>(room.channel);
  const [sessions, setSessions] = useState(initialSessions);

  // Filter form state (applied only on submit).
  const [types, setTypes] = useState<LogEventType[]>([]);
  const [actor, setActor] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [text, setText] = useState("");

  const refreshSessions = useCallback(async () => {
    const res = await fetch(`${api}/bb84`);
    if (res.ok) setSessions(((await res.json()) as { sessions: Bb84SessionSummary[] }).sessions);
  }, [api]);

  const load = useCallback(
    async (f: Applied, before: number | null) => {
      setLoading(true);
      setError(null);
      try {
        const p = logFilterToParams(f);
        if (before !== null) p.set("before", String(before));
        p.set("limit", "100");
        const res = await fetch(`${api}/logs?${p}`);
        const body = (await res.json()) as { entries?: AdminLogEntry[]; nextCursor?: number | null; error?: { message: string } };
        if (!res.ok) {
          if (res.status === 401) leaveConsole();
          setError(body.error?.message ?? `request failed (${res.status})`);
          return;
        }
        setEntries((prev) => (before === null ? body.entries! : [...prev, ...body.entries!]));
        setCursor(body.nextCursor ?? null);
      } catch {
        setError("the server could not be reached");
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  // The live tail: rows arrive from the same flush that stores them; those matching the applied filter are prepended.
  useEffect(() => {
    // Created without connecting; the connection opens a task later. React's development double
    // mount runs this effect, its cleanup and the effect again in one go: connecting at once gave
    // the first mount a WebSocket closed while still connecting (a console warning on every load).
    const socket: Socket<AdminServerToClientEvents, AdminClientToServerEvents> = io(ADMIN_NAMESPACE, {
      transports: ["websocket"],
      withCredentials: true,
      autoConnect: false,
    });
    const onConnect = () => {
      socket.emit("tail:subscribe", { roomId }, (res) => setTail(res.ok ? "live" : "offline"));
    };
    const onDisconnect = () => setTail("offline");
    const onError = () => setTail("offline");
    const onAppended = ({ roomId: r, entries: batch }: { roomId: string; entries: AdminLogEntry[] }) => {
      if (r !== roomId) return;
      const fresh = batch.filter((e) => matchesLogFilter(e, appliedRef.current));
      if (fresh.length > 0)
        setEntries((prev) => {
          const seen = new Set(prev.map((e) => e.id));
          return [...fresh.filter((e) => !seen.has(e.id)).reverse(), ...prev];
        });
      for (const e of batch) {
        if (e.type === "MEMBER_JOINED" && e.actorId) {
          const name = typeof e.meta.displayName === "string" ? e.meta.displayName : (e.actorName ?? "");
          setMembers((m) => [...m.filter((x) => x.userId !== e.actorId), { userId: e.actorId!, displayName: name, joinedAt: e.createdAt }]);
        } else if (e.type === "MEMBER_LEFT" && e.actorId) {
          setMembers((m) => m.filter((x) => x.userId !== e.actorId));
        } else if (e.type === "CHANNEL_SETTINGS_CHANGED") {
          const { noise, loss, eve } = e.meta as Partial<ChannelSettings>;
          if (typeof noise === "number" && typeof loss === "number" && typeof eve === "number") setChannel({ noise, loss, eve });
        } else if (e.type === "BB84_SESSION_STARTED" || e.type === "BB84_SESSION_SUMMARY") {
          void refreshSessions();
        }
      }
    };
    const onEnded = () => leaveConsole();
    socket.on("connect", onConnect);
    socket.on("disconnect", onDisconnect);
    socket.on("connect_error", onError);
    socket.on("tail:appended", onAppended);
    socket.on("session:ended", onEnded);
    const opening = setTimeout(() => socket.connect(), 0);
    return () => {
      clearTimeout(opening);
      socket.off("connect", onConnect);
      socket.off("disconnect", onDisconnect);
      socket.off("connect_error", onError);
      socket.off("tail:appended", onAppended);
      socket.off("session:ended", onEnded);
      socket.close();
    };
  }, [roomId, refreshSessions]);

  // The applied filter lives in the URL (?type=…&actor=…&from=…&to=…&text=…, the export API's
  // parameters): a filtered view can be shared or bookmarked, and Back returns to the previous filter.
  const showUrlFilter = useCallback(() => {
    const r = parseLogFilterParams(roomId, new URLSearchParams(window.location.search));
    if (!r.ok) {
      setError(`filter in the URL ignored: ${r.error}`);
      return;
    }
    const f: Applied = { types: r.filter.types, actor: r.filter.actor, from: r.filter.from, to: r.filter.to, text: r.filter.text };
    setTypes(f.types);
    setActor(f.actor ?? "");
    setFrom(f.from ? toLocalInput(f.from) : "");
    setTo(f.to ? toLocalInput(f.to) : "");
    setText(f.text ?? "");
    appliedRef.current = f;
    setApplied(f);
    void load(f, null);
  }, [roomId, load]);

  useEffect(() => {
    // The server rendered the unfiltered first page; a filter in the URL is applied once hydrated.
    if (logFilterToParams(appliedRef.current).toString() !== new URLSearchParams(window.location.search).toString() && window.location.search) showUrlFilter();
    window.addEventListener("popstate", showUrlFilter);
    return () => window.removeEventListener("popstate", showUrlFilter);
  }, [showUrlFilter]);

  function pushFilter(f: Applied) {
    const q = logFilterToParams(f).toString();
    if (q !== window.location.search.replace(/^\?/, "")) window.history.pushState(null, "", q ? `?${q}` : window.location.pathname);
  }

  function applyFilter(e: React.FormEvent) {
    e.preventDefault();
    const f: Applied = {
      types,
      actor: actor.trim() || undefined,
      from: from ? new Date(from) : undefined,
      to: to ? new Date(to) : undefined,
      text: text.trim() || undefined,
    };
    if ((f.from && Number.isNaN(f.from.getTime())) || (f.to && Number.isNaN(f.to.getTime()))) {
      setError("enter a valid date and time");
      return;
    }
    appliedRef.current = f;
    setApplied(f);
    pushFilter(f);
    void load(f, null);
  }

  function resetFilter() {
    setTypes([]);
    setActor("");
    setFrom("");
    setTo("");
    setText("");
    const f: Applied = { types: [] };
    appliedRef.current = f;
    setApplied(f);
    pushFilter(f);
    void load(f, null);
  }

  const exportHref = (format: "csv" | "json") => {
    const p = logFilterToParams(applied);
    p.set("format", format);
    return `${api}/export?${p}`;
  };

  return (
    <div className="space-y-6" data-testid="admin-room" data-room={roomId}>
      <div className="flex flex-wrap items-baseline justify-between gap-3">
        <h1 className="text-xl font-semibold">
          Room{" "}
          <span className="font-mono" data-testid="admin-room-id">
            {roomId}
          </span>
        </h1>
        <p className="text-sm text-muted">
          created <LocalTime iso={room.createdAt} /> (<ZoneName />) · capacity {room.capacity ?? "—"} · {room.messageCount}{" "}
          {room.messageCount === 1 ? "message" : "messages"} · {room.logCount} {room.logCount === 1 ? "log row" : "log rows"} at load
        </p>
      </div>

      <div className="grid gap-6 lg:grid-cols-[1fr_22rem]">
        <Panel title={`Members online · ${members.length}`} data-testid="admin-members">
          {members.length === 0 ? (
            <p className="px-4 py-3 text-sm text-muted">Nobody is in this room right now.</p>
          ) : (
            <ul className="divide-y divide-line text-sm">
              {members.map((m) => (
                <li key={m.userId} className="flex items-center justify-between px-4 py-2" data-testid="admin-member">
                  <span data-testid="admin-member-name">{m.displayName}</span>
                  <span className="font-mono text-xs text-muted">{m.userId}</span>
                </li>
              ))}
            </ul>
          )}
        </Panel>
        <ChannelControls roomId={roomId} api={api} channel={channel} onSaved={setChannel} />
      </div>

      <Panel
        title="Room log"
        data-testid="admin-log"
        actions={
          <span className="flex items-center gap-3 text-sm">
            <Badge tone={tail === "live" ? "ok" : tail === "connecting" ? "neutral" : "danger"} data-testid="tail-status" data-state={tail}>
              {tail === "live" ? "live" : tail}
            </Badge>
            <a href={exportHref("csv")} download className="text-accent hover:underline" data-testid="export-csv">
              Export CSV
            </a>
            <a href={exportHref("json")} download className="text-accent hover:underline" data-testid="export-json">
              Export JSON
            </a>
          </span>
        }
      >
        <form onSubmit={applyFilter} className="space-y-3 border-b border-line px-4 py-3 text-sm" data-testid="log-filter">
          <fieldset className="flex flex-wrap gap-x-4 gap-y-1">
            <legend className="mb-1 text-xs font-semibold uppercase tracking-wider text-muted">Event types (none = all)</legend>
            {LOG_EVENT_TYPES.map((t) => (
              <label key={t} className="flex items-center gap-1 font-mono text-xs">
                <input
                  type="checkbox"
                  checked={types.includes(t)}
                  onChange={(e) => setTypes((cur) => (e.target.checked ? [...cur, t] : cur.filter((x) => x !== t)))}
                  data-testid={`filter-type-${t}`}
                />
                {t}
              </label>
            ))}
          </fieldset>
          <div className="flex flex-wrap items-end gap-3">
            <label className="flex flex-col gap-1">
              <span className="text-xs text-muted">Actor (user id or name)</span>
              <input
                value={actor}
                onChange={(e) => setActor(e.target.value)}
                className="w-48 rounded-md border border-line bg-panel-2 px-2 py-1"
                data-testid="filter-actor"
              />
            </label>
            <label className="flex flex-col gap-1">
              <span className="text-xs text-muted">From (local time)</span>
              <input
                type="datetime-local"
                step="1"
                value={from}
                onChange={(e) => setFrom(e.target.value)}
                className="rounded-md border border-line bg-panel-2 px-2 py-1"
                data-testid="filter-from"
              />
            </label>
            <label className="flex flex-col gap-1">
              <span className="text-xs text-muted">To (local time)</span>
              <input
                type="datetime-local"
                step="1"
                value={to}
                onChange={(e) => setTo(e.target.value)}
                className="rounded-md border border-line bg-panel-2 px-2 py-1"
                data-testid="filter-to"
              />
            </label>
            <label className="flex flex-col gap-1">
              <span className="text-xs text-muted">Text in metadata</span>
              <input
                value={text}
                onChange={(e) => setText(e.target.value)}
                className="w-48 rounded-md border border-line bg-panel-2 px-2 py-1"
                data-testid="filter-text"
              />
            </label>
            <Button type="submit" variant="primary" disabled={loading} data-testid="filter-apply">
              Apply
            </Button>
            <Button onClick={resetFilter} disabled={loading} data-testid="filter-reset">
              Reset
            </Button>
          </div>
          {error && (
            <p role="alert" className="text-danger" data-testid="filter-error">
              {error}
            </p>
          )}
        </form>
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="log-table">
            <thead className="text-xs uppercase tracking-wider text-muted">
              <tr>
                <th className="px-4 py-2">#</th>
                <th className="px-4 py-2">
                  Time (<ZoneName />)
                </th>
                <th className="px-4 py-2">Type</th>
                <th className="px-4 py-2">Actor</th>
                <th className="px-4 py-2">Target</th>
                <th className="px-4 py-2">Metadata</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {entries.length === 0 && (
                <tr>
                  <td colSpan={6} className="px-4 py-6 text-center text-muted" data-testid="log-empty">
                    No log rows match.
                  </td>
                </tr>
              )}
              {entries.map((e) => (
                <tr key={e.id} data-testid="log-row" data-type={e.type} data-id={e.id}>
                  <td className="px-4 py-1.5 tabular-nums text-muted">{e.id}</td>
                  <td className="whitespace-nowrap px-4 py-1.5 tabular-nums">
                    <LocalTime iso={e.createdAt} ms />
                  </td>
                  <td className="px-4 py-1.5 font-mono text-xs">{e.type}</td>
                  <td className="px-4 py-1.5" data-testid="log-actor">
                    <Who id={e.actorId} name={e.actorName} />
                  </td>
                  <td className="px-4 py-1.5">
                    <Who id={e.targetId} name={e.targetName} />
                  </td>
                  <td className="max-w-md px-4 py-1.5">
                    <LogMeta meta={e.meta} names={names} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div className="flex items-center justify-between border-t border-line px-4 py-2 text-sm text-muted">
          <span data-testid="log-count">{entries.length} row(s) shown</span>
          {cursor !== null && (
            <Button onClick={() => void load(applied, cursor)} disabled={loading} data-testid="log-older">
              Load older
            </Button>
          )}
        </div>
      </Panel>

      <Bb84Sessions sessions={sessions} names={names} />
    </div>
  );
}
