import Link from "next/link";
import { roomIdSchema } from "@/lib/protocol";
import { Notice } from "@/app/_components/ui";
import { RoomScreen } from "../_components/room-screen";
import { requestLocation } from "../_components/request-location";
import { capacityParam, firstParam, historyParam } from "@/lib/ui/params";

/** /room/<id>?name=…&capacity=…&history=… — join (or create) the room <id>. */
export default async function RoomPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const [{ id: raw }, q] = await Promise.all([params, searchParams]);
  let id = raw;
  try {
    id = decodeURIComponent(raw);
  } catch {
    /* keep raw: it fails validation below */
  }
  if (!roomIdSchema.safeParse(id).success) {
    return (
      <main className="flex min-h-dvh items-center px-5 py-10">
        <Notice
          title="That room id is not valid"
          data-testid="invalid-room"
          actions={
            <Link href="/" className="rounded-md bg-accent px-3 py-1.5 text-sm font-medium text-accent-fg hover:opacity-90">
              Choose another room
            </Link>
          }
        >
          <p>Room ids are 1–32 characters long and use only letters (A–Z, a–z), digits (0–9), underscore (_) and hyphen (-). The link you opened asks for:</p>
          <p className="break-all rounded-md border border-line bg-panel-2 px-3 py-2 font-mono text-fg" data-testid="invalid-room-id">
            {id.length > 200 ? `${id.slice(0, 200)}…` : id}
          </p>
          <p>Check the link with whoever shared it, or create a new room.</p>
        </Notice>
      </main>
    );
  }
  const loc = await requestLocation(`/room/${encodeURIComponent(id)}`);
  return (
    <RoomScreen
      roomId={id}
      initialName={firstParam(q.name)}
      capacity={capacityParam(firstParam(q.capacity))}
      history={historyParam(firstParam(q.history))}
      serverLocation={loc}
    />
  );
}
