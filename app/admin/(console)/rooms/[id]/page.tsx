import Link from "next/link";
import { Notice } from "@/app/_components/ui";
import { roomIdSchema } from "@/lib/protocol/events";
import { requireAdmin } from "../../../_lib/guard";
import { RoomConsole } from "../../../_components/room-console";

export const dynamic = "force-dynamic";

/** /admin/rooms/<id> — one room's structured log (filters, pagination, live tail, export), BB84 sessions and channel controls. */
export default async function AdminRoomPage({ params }: { params: Promise<{ id: string }> }) {
  const admin = await requireAdmin();
  const { id: raw } = await params;
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    /* invalid below */
  }
  const room = roomIdSchema.safeParse(id).success ? await admin.getRoom(id) : null;
  if (!room) {
    return (
      <Notice
        title="No such room"
        data-testid="admin-room-missing"
        actions={
          <Link href="/admin" className="text-accent hover:underline">
            All rooms
          </Link>
        }
      >
        <p>There is no room with that id (it may have been a typo, or never created).</p>
      </Notice>
    );
  }
  const [logs, sessions] = await Promise.all([admin.queryLogs({ roomId: id, types: [] }, { limit: 100, order: "desc" }), admin.listSessions(id)]);
  return <RoomConsole room={room} initialLogs={logs} initialSessions={sessions} />;
}
