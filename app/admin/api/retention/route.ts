/** POST /admin/api/retention {days} — delete every room's log rows older than `days` days now. */
import { z } from "zod";
import { apiError, json } from "@/server/admin/http";
import { adminRoute } from "@/app/admin/_lib/api-route";

export const dynamic = "force-dynamic";

const bodySchema = z.object({ days: z.number().min(0).max(36500) }).strict();

export async function POST(req: Request): Promise<Response> {
  return adminRoute(req, { mutating: true }, async ({ admin }) => {
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return apiError(400, "INVALID_PAYLOAD", "expected a JSON body {days}");
    }
    const parsed = bodySchema.safeParse(body);
    if (!parsed.success) return apiError(400, "INVALID_PAYLOAD", "days: a number from 0 to 36500");
    return json({ ok: true, ...(await admin.runRetention(parsed.data.days)) });
  });
}
