/**
 * Key blobs: room key shares kept for their recipient until acknowledged (roomkey:ack), or until the
 * recipient leaves, is removed or expires (rooms.repository.ts recordLeave), or retention removes
 * them. Each blob is the share exactly as relayed ({ iv, wrapped, signature }: wrapped to the
 * recipient under the pair's X25519 key and signed by the leader), so the server cannot open it.
 */
import type { PrismaClient } from "@prisma/client";
import type { RoomkeyShared, RoomkeyShareItem } from "@/lib/protocol";

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function storeShares(prisma: PrismaClient, roomId: string, epoch: number, senderId: string, shares: readonly RoomkeyShareItem[]) {
  await prisma.$transaction(
    shares.map((s) => {
      const blob = Buffer.from(enc.encode(JSON.stringify({ iv: s.iv, wrapped: s.wrapped, signature: s.signature })));
      return prisma.keyBlob.upsert({
        where: { roomId_recipientId_epoch: { roomId, recipientId: s.to, epoch } },
        create: { roomId, recipientId: s.to, senderId, epoch, blob },
        update: { senderId, blob, createdAt: new Date() },
      });
    }),
  );
}

/** The shares waiting for a member in a room, oldest epoch first. */
export async function pendingShares(prisma: PrismaClient, roomId: string, userId: string): Promise<RoomkeyShared[]> {
  const rows = await prisma.keyBlob.findMany({ where: { roomId, recipientId: userId }, orderBy: { epoch: "asc" }, take: 256 });
  const out: RoomkeyShared[] = [];
  for (const r of rows) {
    try {
      const s = JSON.parse(dec.decode(r.blob)) as { iv: string; wrapped: string; signature: string };
      out.push({ roomId, epoch: r.epoch, from: r.senderId, iv: s.iv, wrapped: s.wrapped, signature: s.signature });
    } catch {
      /* a blob this version did not write: skip it */
    }
  }
  return out;
}

export async function ackShares(prisma: PrismaClient, roomId: string, userId: string, epochs: readonly number[]): Promise<number> {
  const { count } = await prisma.keyBlob.deleteMany({ where: { roomId, recipientId: userId, epoch: { in: [...new Set(epochs)] } } });
  return count;
}

export async function deleteBlobsOlderThan(prisma: PrismaClient, roomId: string, cutoff: Date): Promise<number> {
  const { count } = await prisma.keyBlob.deleteMany({ where: { roomId, createdAt: { lt: cutoff } } });
  return count;
}
