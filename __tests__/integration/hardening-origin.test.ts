/**
 * Issue 10, finding 10: the admin Origin check compares the whole origin (scheme, host, port)
 * with this server's own scheme: `https://host:port` used to pass on the plain-http server.
 */
import { io as ioc, type Socket } from "socket.io-client";
import { attachAdmin, type AdminConsole } from "@/server/admin/console";
import { ADMIN_COOKIE } from "@/server/admin/session";
import { sameOrigin } from "@/server/admin/origin";
import { startTestServer, type TestServer } from "../helpers/server";

let srv: TestServer;
let admin: AdminConsole;
const sockets: Socket[] = [];
beforeEach(async () => {
  srv = await startTestServer();
  admin = attachAdmin(srv.app, { token: "origin-test-admin-token-0123456789" });
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await admin.close();
  await srv.close();
});

async function connectAdmin(origin: string): Promise<string> {
  const cookie = `${ADMIN_COOKIE}=${(await admin.auth.issue()).value}`;
  const socket = ioc(`${srv.url}/admin`, { transports: ["websocket"], forceNew: true, reconnection: false, extraHeaders: { cookie, origin } });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once("connect", () => resolve("connected"));
    socket.once("connect_error", (e) => resolve(e.message));
  });
}

test("the admin namespace refuses an https Origin on the plain-http server", async () => {
  const host = `127.0.0.1:${srv.port}`;
  expect(await connectAdmin(`https://${host}`)).toBe("FORBIDDEN_ORIGIN");
  expect(await connectAdmin(`http://127.0.0.1:${srv.port + 1}`)).toBe("FORBIDDEN_ORIGIN");
  expect(await connectAdmin(`http://${host}`)).toBe("connected");
});

test("sameOrigin compares scheme, host and port", () => {
  expect(sameOrigin("https://h:3000", "h:3000", false)).toBe(false);
  expect(sameOrigin("http://h:3000", "h:3000", true)).toBe(false);
  expect(sameOrigin("http://h:3000", "h:3000", false)).toBe(true);
  expect(sameOrigin("https://h:3000", "h:3000", true)).toBe(true);
  expect(sameOrigin("https://h", "h:443", true)).toBe(true); // default ports normalise
  expect(sameOrigin("http://h:3001", "h:3000", false)).toBe(false);
  expect(sameOrigin("null", "h:3000", false)).toBe(false);
  expect(sameOrigin(undefined, "h:3000", false)).toBe(true); // no Origin: the SameSite cookie still applies
});
