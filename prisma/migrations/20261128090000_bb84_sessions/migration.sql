-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Bb84Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "roomId" TEXT NOT NULL,
    "aliceId" TEXT NOT NULL,
    "bobId" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "qubits" INTEGER NOT NULL,
    "cascadeVariant" TEXT NOT NULL DEFAULT 'yanetal-tuned',
    "qberThreshold" REAL NOT NULL DEFAULT 0.11,
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
    "abortCode" TEXT,
    "abortReason" TEXT,
    "abortedBy" TEXT,
    "channelNoise" REAL NOT NULL DEFAULT 0,
    "channelLoss" REAL NOT NULL DEFAULT 0,
    "channelEve" REAL NOT NULL DEFAULT 0,
    "durations" TEXT NOT NULL DEFAULT '{}',
    CONSTRAINT "Bb84Session_roomId_fkey" FOREIGN KEY ("roomId") REFERENCES "Room" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Bb84Session" ("abortReason", "aliceId", "bobId", "channelEve", "channelLoss", "channelNoise", "detected", "disclosedBits", "durations", "fEC", "finalLength", "finishedAt", "id", "outcome", "qberBound", "qberEstimate", "qubits", "roomId", "roundTrips", "sampleSize", "sifted", "startedAt") SELECT "abortReason", "aliceId", "bobId", "channelEve", "channelLoss", "channelNoise", "detected", "disclosedBits", "durations", "fEC", "finalLength", "finishedAt", "id", "outcome", "qberBound", "qberEstimate", "qubits", "roomId", "roundTrips", "sampleSize", "sifted", "startedAt" FROM "Bb84Session";
DROP TABLE "Bb84Session";
ALTER TABLE "new_Bb84Session" RENAME TO "Bb84Session";
CREATE INDEX "Bb84Session_roomId_startedAt_idx" ON "Bb84Session"("roomId", "startedAt");
CREATE INDEX "Bb84Session_outcome_idx" ON "Bb84Session"("outcome");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

