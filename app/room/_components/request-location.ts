import { headers } from "next/headers";
import { locationFromHeaders, type PageLocation } from "@/lib/ui/secure-origin";

/** The page's origin as the browser sees it, from the request headers. */
export async function requestLocation(path: string): Promise<PageLocation | null> {
  const h = await headers();
  return locationFromHeaders(h.get("x-forwarded-host") ?? h.get("host"), h.get("x-forwarded-proto"), path);
}
