/**
 * Shared by the UX and accessibility browser suites: axe-core injected from node_modules (no CDN,
 * no downloaded browser), a viewport-sized page, and a few probes of what a user sees.
 */
import type { Browser, Page } from "playwright-core";

export const SHOTS = "/tmp/qsec-ux";

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core (all WCAG 2.x A/AA rules and best practices) on the page as it will settle: running
 * CSS transitions and animations are finished first, so colour contrast is measured on the final
 * colours, not mid-fade (a button fading in from disabled once read as low contrast).
 */
export async function axe(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  return page.evaluate(async () => {
    for (const a of document.getAnimations()) {
      try {
        a.finish();
      } catch {
        /* an infinite animation (a spinner) cannot finish; it is not what contrast is checked on */
      }
    }
    const w = window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } };
    const r = await w.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
  });
}

/** Serious and critical violations, one line each (rule, node count, first nodes), for a readable failure. */
export function seriousOf(violations: AxeViolation[]): string[] {
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.impact} ${v.id} ×${v.nodes.length}: ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.target.join(" "))
          .join(" | ")}`,
    );
}

/** A fresh context of the given size and colour scheme (its own IndexedDB: its own member). */
export async function sizedPage(browser: Browser, width: number, height: number, colorScheme: "light" | "dark" = "light"): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  return page;
}

/** How far the document scrolls sideways (0 = no horizontal scroll). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

/**
 * How far (px) visible content reaches past the viewport's right edge where no one can scroll to it:
 * the page itself does not scroll sideways when a container with overflow hidden cuts it off, so
 * horizontalOverflow() reads 0 while a button is half off screen. Content inside a box that scrolls
 * sideways (overflow-x auto or scroll, e.g. a wide table) is reachable and not counted; nor are
 * invisible or 1 px elements (screen-reader-only text).
 */
export async function contentPastRightEdge(page: Page): Promise<{ px: number; what: string[] }> {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    let px = 0;
    const what: string[] = [];
    for (const el of Array.from(document.body.querySelectorAll("*"))) {
      const r = el.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1 || r.right <= vw + 0.5) continue;
      if (getComputedStyle(el).visibility === "hidden") continue;
      let reachable = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if ((o === "auto" || o === "scroll") && p.getBoundingClientRect().right <= vw + 0.5) {
          reachable = true;
          break;
        }
      }
      if (reachable) continue;
      px = Math.max(px, r.right - vw);
      if (what.length < 5) what.push(`${el.tagName.toLowerCase()}[data-testid=${el.getAttribute("data-testid") ?? ""}] right ${Math.round(r.right)}`);
    }
    return { px: Math.round(px), what };
  });
}
