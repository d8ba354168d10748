import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { Logo, Notice } from "@/app/_components/ui";
import { adminConsole } from "@/server/admin/registry";
import { ADMIN_COOKIE } from "@/server/admin/session";
import { LoginForm } from "../_components/login-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "QSEC admin — log in" };

/** /admin/login — the only admin page open without a session. */
export default async function AdminLoginPage() {
  const admin = adminConsole();
  if (admin && (await admin.auth.verify((await cookies()).get(ADMIN_COOKIE)?.value))) redirect("/admin");
  return (
    <main className="mx-auto flex min-h-dvh w-full max-w-md flex-col justify-center gap-6 px-5 py-10">
      <Logo className="text-lg" />
      {!admin ? (
        <Notice title="Admin console unavailable" data-testid="admin-unavailable">
          <p>The admin console runs only inside the QSEC server (npm run dev or npm start).</p>
        </Notice>
      ) : !admin.auth.enabled ? (
        <Notice title="Admin console locked" tone="warn" data-testid="admin-locked">
          <p>This server has no ADMIN_TOKEN. Set it in the environment and restart the server.</p>
        </Notice>
      ) : (
        <section className="rounded-xl border border-line bg-panel p-6 shadow-sm">
          <h1 className="text-lg font-semibold">Admin console</h1>
          <p className="mt-1 text-sm text-muted">
            Enter the admin token (ADMIN_TOKEN). In development, open the login link the server printed on its first start, or use the token saved in
            data/admin-token.
          </p>
          <LoginForm />
        </section>
      )}
    </main>
  );
}
