/** Bb84Session rows: the non-secret summary of each session (never a key bit, basis or measurement). */
import type { Bb84Session, PrismaClient } from "@prisma/client";
import type { Bb84Outcome, Bb84SessionSummary } from "@/lib/protocol";
import { channelOf } from "../channel/channel.repository";

export function toSummary(r: Bb84Session): Bb84SessionSummary {
  let durations: Record<string, number> = {};
  try {
    durations = JSON.parse(r.durations) as Record<string, number>;
  } catch {
    /* stored by us; keep {} if ever unreadable */
  }
  return {
    id: r.id,
    roomId: r.roomId,
    aliceId: r.aliceId,
    bobId: r.bobId,
    qubits: r.qubits,
    cascadeVariant: r.cascadeVariant,
    qberThreshold: r.qberThreshold,
    channel: channelOf(r),
    outcome: r.outcome as Bb84Outcome,
    abortCode: r.abortCode,
    abortReason: r.abortReason,
    abortedBy: r.abortedBy,
    detected: r.detected,
    sifted: r.sifted,
    sampleSize: r.sampleSize,
    qberEstimate: r.qberEstimate,
    qberBound: r.qberBound,
    disclosedBits: r.disclosedBits,
    fEC: r.fEC,
    roundTrips: r.roundTrips,
    finalLength: r.finalLength,
    durations,
    startedAt: r.startedAt.toISOString(),
    finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null,
  };
}

export async function createSession(prisma: PrismaClient, s: Bb84SessionSummary): Promise<void> {
  await prisma.bb84Session.create({
    data: {
      id: s.id,
      roomId: s.roomId,
      aliceId: s.aliceId,
      bobId: s.bobId,
      qubits: s.qubits,
      cascadeVariant: s.cascadeVariant,
      qberThreshold: s.qberThreshold,
      channelNoise: s.channel.noise,
      channelLoss: s.channel.loss,
      channelEve: s.channel.eve,
      startedAt: new Date(s.startedAt),
      outcome: "running",
    },
  });
}

export async function saveSession(prisma: PrismaClient, s: Bb84SessionSummary): Promise<void> {
  await prisma.bb84Session.update({
    where: { id: s.id },
    data: {
      outcome: s.outcome,
      abortCode: s.abortCode,
      abortReason: s.abortReason,
      abortedBy: s.abortedBy,
      detected: s.detected,
      sifted: s.sifted,
      sampleSize: s.sampleSize,
      qberEstimate: s.qberEstimate,
      qberBound: s.qberBound,
      disclosedBits: s.disclosedBits,
      fEC: s.fEC,
      roundTrips: s.roundTrips,
      finalLength: s.finalLength,
      durations: JSON.stringify(s.durations),
      finishedAt: s.finishedAt ? new Date(s.finishedAt) : null,
    },
  });
}

/** The room's sessions, newest first (limit ≤ 200). */
export async function listSessions(prisma: PrismaClient, roomId: string, limit = 100): Promise<Bb84SessionSummary[]> {
  const rows = await prisma.bb84Session.findMany({
    where: { roomId },
    orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    take: Math.min(Math.max(1, limit), 200),
  });
  return rows.map(toSummary);
}

/** One stored session by id, or null. */
export async function findSession(prisma: PrismaClient, id: string): Promise<Bb84SessionSummary | null> {
  const r = await prisma.bb84Session.findUnique({ where: { id } });
  return r ? toSummary(r) : null;
}

/** Sessions a previous process left "running" can never finish: mark them aborted at start. */
export async function abortStaleSessions(prisma: PrismaClient): Promise<number> {
  const res = await prisma.bb84Session.updateMany({
    where: { outcome: "running" },
    data: {
      outcome: "aborted",
      abortCode: "SERVER_RESTART",
      abortReason: "the server restarted during the session",
      abortedBy: "server",
      finishedAt: new Date(),
    },
  });
  return res.count;
}
