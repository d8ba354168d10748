import Link from "next/link";
import { Panel } from "@/app/_components/ui";
import { LocalTime, ZoneName } from "@/app/_components/local-time";
import { parseRoomListQuery, type RoomListQuery, type RoomSort } from "@/server/admin/rooms.query";
import { requireAdmin } from "../_lib/guard";
import { RetentionForm } from "../_components/retention-form";

export const dynamic = "force-dynamic";

const COLUMNS: { key: RoomSort; label: string; numeric?: boolean }[] = [
  { key: "id", label: "Room" },
  { key: "createdAt", label: "Created" },
  { key: "online", label: "Online now", numeric: true },
  { key: "capacity", label: "Capacity", numeric: true },
  { key: "lastActivityAt", label: "Last activity" },
  { key: "messageCount", label: "Messages", numeric: true },
  { key: "bb84Sessions", label: "BB84 sessions", numeric: true },
  { key: "lastQber", label: "Last QBER", numeric: true },
];

function href(q: RoomListQuery, change: Partial<RoomListQuery>): string {
  const next = { ...q, ...change };
  const p = new URLSearchParams();
  if (next.q) p.set("q", next.q);
  p.set("sort", next.sort);
  p.set("dir", next.dir);
  if (next.page > 1) p.set("page", String(next.page));
  if (next.pageSize !== 25) p.set("pageSize", String(next.pageSize));
  return `/admin?${p}`;
}

/** /admin — every room: sortable, searchable (room id or a member's display name), paginated. */
export default async function AdminRoomsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const admin = await requireAdmin();
  const query = parseRoomListQuery(await searchParams);
  const list = await admin.listRooms(query);

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-baseline justify-between gap-3">
        <h1 className="text-xl font-semibold">Rooms</h1>
        <p className="text-sm text-muted">
          Times in <ZoneName />
        </p>
      </div>
      <Panel
        title={`Rooms · ${list.total}`}
        data-testid="admin-rooms"
        actions={
          <form method="get" action="/admin" className="flex items-center gap-2" role="search">
            <input type="hidden" name="sort" value={query.sort} />
            <input type="hidden" name="dir" value={query.dir} />
            <input
              name="q"
              defaultValue={query.q ?? ""}
              placeholder="room id or member name"
              aria-label="Search rooms"
              className="w-56 rounded-md border border-line bg-panel-2 px-2 py-1 text-sm"
              data-testid="rooms-search"
            />
            <button type="submit" className="rounded-md border border-line px-2 py-1 text-sm hover:border-accent/60" data-testid="rooms-search-submit">
              Search
            </button>
          </form>
        }
      >
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm" data-testid="rooms-table">
            <thead className="text-xs uppercase tracking-wider text-muted">
              <tr>
                {COLUMNS.map((c) => {
                  const active = query.sort === c.key;
                  const dir = active && query.dir === "desc" ? "asc" : "desc";
                  return (
                    <th
                      key={c.key}
                      className={`px-4 py-2 font-semibold ${c.numeric ? "text-right" : ""}`}
                      aria-sort={active ? (query.dir === "asc" ? "ascending" : "descending") : "none"}
                    >
                      <Link href={href(query, { sort: c.key, dir, page: 1 })} className="hover:text-fg" data-testid={`sort-${c.key}`}>
                        {c.label}
                        {active ? (query.dir === "asc" ? " ▲" : " ▼") : ""}
                      </Link>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody className="divide-y divide-line">
              {list.rooms.length === 0 && (
                <tr>
                  <td colSpan={COLUMNS.length} className="px-4 py-6 text-center text-muted">
                    No rooms{query.q ? " match this search" : " yet"}.
                  </td>
                </tr>
              )}
              {list.rooms.map((r) => (
                <tr key={r.id} data-testid="room-row" data-room={r.id}>
                  <td className="px-4 py-2 font-mono">
                    <Link href={`/admin/rooms/${encodeURIComponent(r.id)}`} className="text-accent hover:underline">
                      {r.id}
                    </Link>
                  </td>
                  <td className="px-4 py-2 tabular-nums text-muted">
                    <LocalTime iso={r.createdAt} />
                  </td>
                  <td className="px-4 py-2 text-right tabular-nums" data-testid="room-online">
                    {r.online}
                  </td>
                  <td className="px-4 py-2 text-right tabular-nums">{r.capacity ?? "—"}</td>
                  <td className="px-4 py-2 tabular-nums text-muted">
                    <LocalTime iso={r.lastActivityAt} />
                  </td>
                  <td className="px-4 py-2 text-right tabular-nums">{r.messageCount}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{r.bb84Sessions}</td>
                  <td className="px-4 py-2 text-right tabular-nums">{r.lastQber === null ? "—" : `${(r.lastQber * 100).toFixed(2)}%`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <nav className="flex items-center justify-between border-t border-line px-4 py-2 text-sm text-muted" aria-label="Pages">
          <span data-testid="rooms-page">
            page {list.page} of {list.pages}
          </span>
          <span className="flex gap-3">
            {list.page > 1 && (
              <Link href={href(query, { page: list.page - 1 })} className="text-accent hover:underline" data-testid="rooms-prev">
                ← previous
              </Link>
            )}
            {list.page < list.pages && (
              <Link href={href(query, { page: list.page + 1 })} className="text-accent hover:underline" data-testid="rooms-next">
                next →
              </Link>
            )}
          </span>
        </nav>
      </Panel>
      <RetentionForm />
    </div>
  );
}
