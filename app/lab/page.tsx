import type { Metadata } from "next";
import { LabApp } from "./_components/lab-app";

export const metadata: Metadata = {
  title: "BB84 lab — QSEC",
  description: "Learn BB84 step by step, check the QKD engine against theory, and model a real fibre link with decoy states.",
};

/** The lab: open to anyone, no room needed. Its setup lives in the query string (shareable). */
export default async function LabPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(sp)) if (typeof v === "string") query.set(k, v);
  return <LabApp initialQuery={query.toString()} />;
}
