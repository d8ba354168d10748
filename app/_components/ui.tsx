import type { ComponentPropsWithRef, ReactNode } from "react";

/** Shared building blocks: buttons, badges and panels with one look across pages. */

type Variant = "primary" | "secondary" | "ghost" | "danger";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-accent text-accent-fg hover:opacity-90",
  secondary: "border border-line bg-panel-2 text-fg hover:border-accent/60",
  ghost: "text-muted hover:bg-panel-2 hover:text-fg",
  danger: "border border-danger/50 text-danger hover:bg-danger/10",
};

export function Button({ variant = "secondary", className = "", ...props }: ComponentPropsWithRef<"button"> & { variant?: Variant }) {
  return (
    <button
      type="button"
      {...props}
      className={`inline-flex items-center justify-center gap-1.5 rounded-md px-3 py-1.5 text-sm font-medium transition disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]} ${className}`}
    />
  );
}

type Tone = "neutral" | "accent" | "ok" | "warn" | "danger";
const TONES: Record<Tone, string> = {
  neutral: "border-line text-muted",
  accent: "border-accent/40 bg-accent/10 text-accent",
  ok: "border-ok/40 bg-ok/10 text-ok",
  warn: "border-warn/50 bg-warn/10 text-warn",
  danger: "border-danger/50 bg-danger/10 text-danger",
};

export function Badge({
  tone = "neutral",
  children,
  className = "",
  ...rest
}: { tone?: Tone; children: ReactNode; className?: string } & Record<`data-${string}`, string>) {
  return (
    <span {...rest} className={`inline-flex items-center gap-1 rounded-full border px-2 py-0.5 text-[11px] font-medium leading-4 ${TONES[tone]} ${className}`}>
      {children}
    </span>
  );
}

export function Panel({
  title,
  actions,
  children,
  className = "",
  ...rest
}: { title: ReactNode; actions?: ReactNode; children: ReactNode; className?: string } & Record<`data-${string}`, string>) {
  return (
    <section {...rest} className={`flex min-h-0 flex-col rounded-xl border border-line bg-panel ${className}`}>
      <header className="flex items-center justify-between gap-2 border-b border-line px-4 py-2.5">
        <h2 className="text-xs font-semibold uppercase tracking-wider text-muted">{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Logo({ className = "" }: { className?: string }) {
  return (
    <span className={`inline-flex items-center gap-2 font-semibold tracking-tight ${className}`}>
      <svg
        aria-hidden="true"
        viewBox="0 0 24 24"
        className="h-6 w-6 text-accent"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
        strokeLinejoin="round"
      >
        <rect x="4" y="10" width="16" height="11" rx="2.5" />
        <path d="M8 10V7a4 4 0 0 1 8 0v3" />
        <circle cx="12" cy="15.5" r="1.5" />
      </svg>
      QSEC
    </span>
  );
}

/** A paperclip (attachments): drawn, not an emoji, so it shows on systems without an emoji font. */
export function PaperclipIcon({ className = "h-4 w-4" }: { className?: string }) {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 24 24"
      className={className}
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      <path d="m21.44 11.05-9.19 9.19a6 6 0 0 1-8.49-8.49l8.57-8.57A4 4 0 1 1 18 8.84l-8.59 8.57a2 2 0 0 1-2.83-2.83l8.49-8.48" />
    </svg>
  );
}

/** A full-width notice for errors and states that replace a page's content. */
export function Notice({
  tone = "danger",
  title,
  children,
  actions,
  ...rest
}: { tone?: "danger" | "warn" | "neutral"; title: ReactNode; children?: ReactNode; actions?: ReactNode } & Record<`data-${string}`, string>) {
  const border = tone === "danger" ? "border-danger/50" : tone === "warn" ? "border-warn/50" : "border-line";
  const heading = tone === "danger" ? "text-danger" : tone === "warn" ? "text-warn" : "text-fg";
  return (
    <div role={tone === "danger" ? "alert" : "status"} {...rest} className={`mx-auto w-full max-w-xl rounded-xl border ${border} bg-panel p-6 shadow-sm`}>
      <h1 className={`text-lg font-semibold ${heading}`}>{title}</h1>
      {children && <div className="mt-2 space-y-2 text-sm leading-6 text-muted">{children}</div>}
      {actions && <div className="mt-5 flex flex-wrap gap-2">{actions}</div>}
    </div>
  );
}
