-- CreateTable
CREATE TABLE "Room" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" TEXT,
    "capacity" INTEGER,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "lastActivityAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "messageCount" INTEGER NOT NULL DEFAULT 0,
    "channelNoise" REAL NOT NULL DEFAULT 0,
    "channelLoss" REAL NOT NULL DEFAULT 0,
    "channelEve" REAL NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "displayName" TEXT NOT NULL,
    "signingKey" TEXT NOT NULL,
    "agreementKey" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Membership" (
    "roomId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "joinedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leftAt" DATETIME,
    "online" BOOLEAN NOT NULL DEFAULT true,

    PRIMARY KEY ("roomId", "userId"),
    CONSTRAINT "Membership_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Membership_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "RoomLog" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "roomId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "actorId" TEXT,
    "targetId" TEXT,
    "meta" TEXT NOT NULL DEFAULT '{}',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "RoomLog_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "KeyBlob" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "roomId" TEXT NOT NULL,
    "recipientId" TEXT NOT NULL,
    "senderId" TEXT NOT NULL,
    "epoch" INTEGER NOT NULL,
    "blob" BLOB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "KeyBlob_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Bb84Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "roomId" TEXT NOT NULL,
    "aliceId" TEXT NOT NULL,
    "bobId" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "qubits" INTEGER NOT NULL,
    "detected" INTEGER,
    "sifted" INTEGER,
    "sampleSize" INTEGER,
    "qberEstimate" REAL,
    "qberBound" REAL,
    "disclosedBits" INTEGER,
    "fEC" REAL,
    "roundTrips" INTEGER,
    "finalLength" INTEGER,
    "outcome" TEXT NOT NULL DEFAULT 'running',
    "abortReason" TEXT,
    "channelNoise" REAL NOT NULL DEFAULT 0,
    "channelLoss" REAL NOT NULL DEFAULT 0,
    "channelEve" REAL NOT NULL DEFAULT 0,
    "durations" TEXT NOT NULL DEFAULT '{}',
    CONSTRAINT "Bb84Session_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
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

