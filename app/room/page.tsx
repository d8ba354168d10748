import { capacityParam, firstParam } from "@/lib/ui/params";
import { RoomScreen } from "./_components/room-screen";

/** /room?name=…&capacity=… — create a room whose id the server picks; the URL becomes /room/<id>. */
export default async function NewRoomPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const q = await searchParams;
  return <RoomScreen roomId={undefined} initialName={firstParam(q.name)} capacity={capacityParam(firstParam(q.capacity))} />;
}
