-- AlterTable
ALTER TABLE "Bb84Session" ADD COLUMN     "abortCode" TEXT,
ADD COLUMN     "abortedBy" TEXT,
ADD COLUMN     "cascadeVariant" TEXT NOT NULL DEFAULT 'yanetal-tuned',
ADD COLUMN     "qberThreshold" DOUBLE PRECISION NOT NULL DEFAULT 0.11;

-- CreateIndex
CREATE INDEX "Bb84Session_outcome_idx" ON "Bb84Session"("outcome");
