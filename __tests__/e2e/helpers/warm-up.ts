/**
 * Next's dev server compiles a route (and the Web Worker it loads) on its first request, which takes
 * minutes on a small machine. A suite visits its routes once in a throwaway context before its
 * scenarios, so their own timeouts measure the app, not the compiler.
 */
import type { Browser } from "playwright-core";
import { newPage } from "./browser";

export interface WarmRoute {
  /** Path and query, e.g. `/room/warm-up?name=Warm`. */
  path: string;
  /** The data-testid that shows the route has rendered. */
  testId: string;
}

export async function warmUp(browser: Browser, base: string, routes: WarmRoute[], timeout = 150_000): Promise<void> {
  const page = await newPage(browser);
  for (const r of routes) {
    await page.goto(`${base}${r.path}`, { timeout });
    await page.getByTestId(r.testId).waitFor({ timeout });
  }
  await page.context().close();
}
