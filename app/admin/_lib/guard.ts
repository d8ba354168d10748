/**
 * The page-side session check: every admin page (and the console layout) calls requireAdmin(),
 * which redirects to the login page unless the request carries a valid admin session cookie.
 */
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { adminConsole } from "@/server/admin/registry";
import { ADMIN_COOKIE } from "@/server/admin/session";
import type { AdminConsole } from "@/server/admin/console";

export async function requireAdmin(): Promise<AdminConsole> {
  const admin = adminConsole();
  if (!admin) redirect("/admin/login?unavailable=1");
  const session = await admin.auth.verify((await cookies()).get(ADMIN_COOKIE)?.value);
  if (!session) redirect("/admin/login");
  return admin;
}
