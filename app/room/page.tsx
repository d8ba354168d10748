import { redirect } from "next/navigation";
import { capacityParam, firstParam, historyParam } from "@/lib/ui/params";
import { RoomScreen } from "./_components/room-screen";
import { requestLocation } from "./_components/request-location";

/**
 * /room?name=…&capacity=… — create a room whose id the server picks; the URL becomes /room/<id>.
 * /room?id=…&name=… (the landing form submitted without scripts) goes to /room/<id>.
 */
export default async function NewRoomPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const q = await searchParams;
  const id = firstParam(q.id)?.trim();
  const name = firstParam(q.name);
  const capacity = firstParam(q.capacity);
  const history = firstParam(q.history);
  if (id) {
    const rest = new URLSearchParams();
    if (name) rest.set("name", name);
    if (capacity) rest.set("capacity", capacity);
    if (history) rest.set("history", history);
    const qs = rest.toString();
    redirect(`/room/${encodeURIComponent(id)}${qs ? `?${qs}` : ""}`);
  }
  const loc = await requestLocation("/room");
  return <RoomScreen roomId={undefined} initialName={name} capacity={capacityParam(capacity)} history={historyParam(history)} serverLocation={loc} />;
}
