-- CreateTable
CREATE TABLE "KeyBackup" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "blob" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KeyBackup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "KeyBackup_ownerId_idx" ON "KeyBackup"("ownerId");
