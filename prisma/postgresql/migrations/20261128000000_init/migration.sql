-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Room" (
    "id" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT,
    "capacity" INTEGER,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "lastActivityAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "messageCount" INTEGER NOT NULL DEFAULT 0,
    "channelNoise" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "channelLoss" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "channelEve" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "Room_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "signingKey" TEXT NOT NULL,
    "agreementKey" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Membership" (
    "roomId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "joinedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leftAt" TIMESTAMP(3),
    "online" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "Membership_pkey" PRIMARY KEY ("roomId","userId")
);

-- CreateTable
CREATE TABLE "RoomLog" (
    "id" SERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "actorId" TEXT,
    "targetId" TEXT,
    "meta" TEXT NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RoomLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KeyBlob" (
    "id" SERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "recipientId" TEXT NOT NULL,
    "senderId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "blob" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "KeyBlob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Bb84Session" (
    "id" TEXT NOT NULL,
    "roomId" TEXT NOT NULL,
    "aliceId" TEXT NOT NULL,
    "bobId" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "qubits" INTEGER NOT NULL,
    "detected" INTEGER,
    "sifted" INTEGER,
    "sampleSize" INTEGER,
    "qberEstimate" DOUBLE PRECISION,
    "qberBound" DOUBLE PRECISION,
    "disclosedBits" INTEGER,
    "fEC" DOUBLE PRECISION,
    "roundTrips" INTEGER,
    "finalLength" INTEGER,
    "outcome" TEXT NOT NULL DEFAULT 'running',
    "abortReason" TEXT,
    "channelNoise" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "channelLoss" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "channelEve" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "durations" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "Bb84Session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Membership_userId_idx" ON "Membership"("userId");

-- CreateIndex
CREATE INDEX "RoomLog_roomId_id_idx" ON "RoomLog"("roomId", "id");

-- CreateIndex
CREATE INDEX "RoomLog_roomId_createdAt_idx" ON "RoomLog"("roomId", "createdAt");

-- CreateIndex
CREATE INDEX "RoomLog_type_idx" ON "RoomLog"("type");

-- CreateIndex
CREATE UNIQUE INDEX "KeyBlob_roomId_recipientId_epoch_key" ON "KeyBlob"("roomId", "recipientId", "epoch");

-- CreateIndex
CREATE INDEX "Bb84Session_roomId_startedAt_idx" ON "Bb84Session"("roomId", "startedAt");

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Membership" ADD CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RoomLog" ADD CONSTRAINT "RoomLog_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KeyBlob" ADD CONSTRAINT "KeyBlob_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Bb84Session" ADD CONSTRAINT "Bb84Session_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;
