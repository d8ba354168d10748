"use client";
import { useSyncExternalStore } from "react";

type Theme = "system" | "light" | "dark";
const KEY = "qsec-theme";
const NEXT: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
const LABEL: Record<Theme, string> = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };

/** Applies a stored choice to <html data-theme>; "system" removes it so prefers-color-scheme decides (globals.css). */
function apply(t: Theme) {
  if (t === "system") document.documentElement.removeAttribute("data-theme");
  else document.documentElement.setAttribute("data-theme", t);
}

/** This page's choice where the browser refuses storage. */
let unstored: Theme = "system";

/** The stored choice (the layout's inline script has already applied it to <html> before the first paint). */
function storedTheme(): Theme {
  try {
    const saved = localStorage.getItem(KEY);
    return saved === "light" || saved === "dark" ? saved : "system";
  } catch {
    return unstored;
  }
}

/** Every toggle on the page re-reads the stored choice after one of them changes it. */
const listeners = new Set<() => void>();
function subscribe(onChange: () => void) {
  listeners.add(onChange);
  return () => {
    listeners.delete(onChange);
  };
}

function choose(t: Theme) {
  apply(t);
  unstored = t;
  try {
    if (t === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, t);
  } catch {
    /* not remembered */
  }
  for (const l of listeners) l();
}

/** Cycles system → light → dark; the choice is kept in this browser. The server (and hydration) render "system". */
export function ThemeToggle({ className = "" }: { className?: string }) {
  const theme = useSyncExternalStore(subscribe, storedTheme, () => "system" as const);
  return (
    <button
      type="button"
      onClick={() => choose(NEXT[theme])}
      title={`${LABEL[theme]} (click for ${NEXT[theme]})`}
      data-testid="theme-toggle"
      data-theme-choice={theme}
      className={`inline-flex h-8 w-8 shrink-0 items-center justify-center rounded-md text-muted hover:bg-panel-2 hover:text-fg ${className}`}
    >
      <span className="sr-only">{LABEL[theme]}</span>
      <svg viewBox="0 0 20 20" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
        {theme === "dark" ? (
          <path d="M16 12.5A6.5 6.5 0 0 1 7.5 4a6.5 6.5 0 1 0 8.5 8.5Z" strokeLinejoin="round" />
        ) : theme === "light" ? (
          <>
            <circle cx="10" cy="10" r="3.2" />
            <path d="M10 2v2M10 16v2M2 10h2M16 10h2M4.3 4.3l1.4 1.4M14.3 14.3l1.4 1.4M4.3 15.7l1.4-1.4M14.3 5.7l1.4-1.4" strokeLinecap="round" />
          </>
        ) : (
          <>
            <rect x="3" y="4" width="14" height="10" rx="1.5" />
            <path d="M7 17h6M10 14v3" strokeLinecap="round" />
          </>
        )}
      </svg>
    </button>
  );
}
