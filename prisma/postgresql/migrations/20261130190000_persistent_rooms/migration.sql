-- AlterTable
ALTER TABLE "Room" ADD COLUMN     "epochLeaderId" TEXT,
ADD COLUMN     "historyDays" INTEGER;

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "agreementSig" TEXT NOT NULL DEFAULT '';

-- AlterTable
ALTER TABLE "Membership" ADD COLUMN     "displayName" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "MembershipPeriod" (
    "id" SERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "fromEpoch" INTEGER NOT NULL,
    "toEpoch" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MembershipPeriod_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Envelope" (
    "id" SERIAL NOT NULL,
    "roomId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "senderId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "recipientId" TEXT,
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Envelope_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MembershipPeriod_roomId_userId_idx" ON "MembershipPeriod"("roomId", "userId");

-- CreateIndex
CREATE INDEX "Envelope_roomId_id_idx" ON "Envelope"("roomId", "id");

-- CreateIndex
CREATE INDEX "Envelope_roomId_createdAt_idx" ON "Envelope"("roomId", "createdAt");

-- CreateIndex
CREATE INDEX "Membership_leftAt_lastSeenAt_idx" ON "Membership"("leftAt", "lastSeenAt");

-- CreateIndex
CREATE INDEX "KeyBlob_createdAt_idx" ON "KeyBlob"("createdAt");

-- AddForeignKey
ALTER TABLE "MembershipPeriod" ADD CONSTRAINT "MembershipPeriod_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Envelope" ADD CONSTRAINT "Envelope_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room"("id") ON DELETE CASCADE ON UPDATE CASCADE;
