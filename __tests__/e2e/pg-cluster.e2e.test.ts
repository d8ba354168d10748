/**
 * The cluster in the browser (issue 11): two nodes (server/main.ts serving the production build,
 * sharing one fresh PostgreSQL database and a Redis key prefix of their own) behind nginx
 * (deploy/nginx.conf.template with a round-robin upstream, as `npm run cluster` renders it), and
 * Debian's Chromium. Two members open one room through nginx's address and end up on different
 * nodes (which node holds a connection is read from Redis: `<prefix>ident:<user id>` lists "<node>
 * <socket id>"); they chat both ways; the node holding one of them is killed with SIGKILL. That
 * member's page must come back through nginx on the surviving node by itself, show the messages the
 * other member sent meanwhile exactly once, be online with the room key and no error, and chat on.
 *
 * Needs PostgreSQL, Redis, /usr/sbin/nginx and Chromium: it runs in the postgresql Jest project
 * (jest.config.js), and shares its production build with production.e2e (buildAppOnce).
 */
import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { createClient } from "redis";
import { buildAppOnce, startAppServer, type AppServer } from "./helpers/app-server";
import { launchChromium, messageTexts, openRoom, sendMessage, waitForMessage, waitForRoom } from "./helpers/browser";
import { startNginx, type TestNginx } from "../helpers/nginx";
import { pgAdmin, pgUrlFor } from "../helpers/test-db";

jest.setTimeout(120_000);

const DIST = ".next-e2e-prod";
const REDIS_URL = process.env.QSEC_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const tag = randomBytes(6).toString("hex");
const prefix = `qsec_test_${tag}:`;
const dbName = `qsec_test_${tag}`;
const NODE_IDS = ["a", "b"];

const nodes: AppServer[] = [];
let nginx: TestNginx | null = null;
let lb = "";
let browser: Browser;
const redis = createClient({ url: REDIS_URL });

/** nginx from the repository's template, round robin over the nodes (no stickiness, as deployed). */
async function startBalancer(urls: string[]): Promise<string> {
  nginx = await startNginx(urls.map((u) => `server 127.0.0.1:${new URL(u).port} max_fails=1 fail_timeout=5s;`));
  return nginx.url;
}

beforeAll(async () => {
  await pgAdmin((c) => c.query(`CREATE DATABASE "${dbName}"`));
  await buildAppOnce(DIST);
  const env = {
    DATABASE_URL: pgUrlFor(dbName),
    QSEC_REDIS_URL: REDIS_URL,
    QSEC_REDIS_PREFIX: prefix,
    QSEC_TRUST_PROXY: "1",
    ADMIN_TOKEN: "x".repeat(32),
  };
  // One after the other: the first one up migrates the database.
  for (const id of NODE_IDS) nodes.push(await startAppServer({ distDir: DIST, production: true, readyTimeoutMs: 60_000, env: { ...env, QSEC_NODE_ID: id } }));
  lb = await startBalancer(nodes.map((n) => n.url));
  await redis.connect();
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await nginx?.stop();
  for (const n of nodes) await n.stop();
  await pgAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  if (redis.isOpen) {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) if (keys.length > 0) await redis.del(keys);
    await redis.quit();
  }
}, 60_000);

/** The user ids with a connection on some node (Redis: `<prefix>ident:<user id>`). */
async function connectedIdentities(): Promise<string[]> {
  return (await redis.keys(`${prefix}ident:*`)).map((k) => k.slice(`${prefix}ident:`.length));
}

/** The node holding the identity's newest connection (its list is kept in connect order). */
async function nodeOf(userId: string): Promise<string> {
  const node = (await redis.zRange(`${prefix}ident:${userId}`, 0, -1)).at(-1)?.split(" ")[0];
  if (!node) throw new Error(`no connection of ${userId} in Redis`);
  return node;
}

/** Opens the room as a new member and answers its user id (the one identity that was not connected before). */
async function join(name: string, room: string): Promise<{ page: Page; userId: string }> {
  const before = new Set(await connectedIdentities());
  const page = await openRoom(browser, lb, room, name);
  await page.locator('[data-testid="connection-state"][data-state="online"]').waitFor();
  const added = (await connectedIdentities()).filter((u) => !before.has(u));
  if (added.length !== 1) throw new Error(`expected one new identity in Redis, found ${added.length}`);
  return { page, userId: added[0] };
}

/**
 * nginx balances round robin, so the node a page's WebSocket reaches depends on how many requests
 * went before it. When both members landed on one node, the second one reloads its page (same
 * identity, same room) until it lands on the other; before every other reload one request to
 * nginx's /healthz shifts the rotation by one, in case a page load is an even number of requests.
 */
async function reloadOffNode(page: Page, userId: string, node: string): Promise<number> {
  for (let i = 1; i <= 8; i++) {
    if (i % 2 === 1) await fetch(`${lb}/healthz`);
    await page.reload();
    await page.getByTestId("room-page").waitFor();
    await page.locator('[data-testid="connection-state"][data-state="online"]').waitFor();
    await waitForRoom(page, { members: 2 });
    if ((await nodeOf(userId)) !== node) return i;
  }
  throw new Error(`the page stayed on node ${node}`);
}

test("members on both nodes behind nginx chat; one node is killed: its member's page comes back on the other, with what it missed, once", async () => {
  const room = `xnode-${tag}`;
  const { page: alice, userId: aliceId } = await join("Alice", room);
  const first = await waitForRoom(alice, { members: 1 });
  const { page: bob, userId: bobId } = await join("Bob", room);
  await waitForRoom(bob, { members: 2, minEpoch: first + 1 });
  await waitForRoom(alice, { members: 2 });
  const aliceNode = await nodeOf(aliceId);
  const reloads = (await nodeOf(bobId)) === aliceNode ? await reloadOffNode(bob, bobId, aliceNode) : 0;
  const bobNode = await nodeOf(bobId);
  expect(NODE_IDS).toContain(aliceNode);
  expect(NODE_IDS).toContain(bobNode);
  expect(bobNode).not.toBe(aliceNode);
  const epoch = await waitForRoom(bob, { members: 2 });
  expect(await waitForRoom(alice, { members: 2 })).toBe(epoch);

  // Across the nodes, both ways.
  await sendMessage(alice, `from Alice on node ${aliceNode}`);
  await waitForMessage(bob, `from Alice on node ${aliceNode}`);
  await sendMessage(bob, `from Bob on node ${bobNode}`);
  await waitForMessage(alice, `from Bob on node ${bobNode}`);

  // Bob's connection indicator, as it changes from now on.
  await bob.evaluate(() => {
    const el = document.querySelector('[data-testid="connection-state"]')!;
    const seen: { state: string | null; at: number }[] = [];
    (window as unknown as { __states: typeof seen }).__states = seen;
    new MutationObserver(() => seen.push({ state: el.getAttribute("data-state"), at: Date.now() })).observe(el, {
      attributes: true,
      attributeFilter: ["data-state"],
    });
  });
  const states = () => bob.evaluate(() => (window as unknown as { __states: { state: string | null; at: number }[] }).__states);

  // kill -9 of Bob's node; Alice, on the other, keeps talking while Bob is away.
  const killedAt = Date.now();
  await nodes[NODE_IDS.indexOf(bobNode)].kill();
  const missed = ["sent while Bob's node was down (1)", "sent while Bob's node was down (2)"];
  for (const text of missed) await sendMessage(alice, text);

  // Bob's page reconnects through nginx by itself, to the surviving node.
  await bob.waitForFunction(
    () => {
      const seen = (window as unknown as { __states: { state: string | null }[] }).__states;
      return seen.some((s) => s.state !== "online") && seen.at(-1)?.state === "online";
    },
    undefined,
    { timeout: 30_000 },
  );
  const shown = await states();
  const reconnectMs = shown.at(-1)!.at - killedAt;
  expect(shown[0].state).not.toBe("online"); // the page showed it was away before it was back
  for (const text of missed) await waitForMessage(bob, text);
  const caughtUpMs = Date.now() - killedAt;
  expect(await nodeOf(bobId)).toBe(aliceNode);
  // Back in the room with the same key (no new epoch: a dropped connection is not a leave), and no error shown.
  expect(await waitForRoom(bob, { members: 2 })).toBe(epoch);
  expect(await bob.getByTestId("connection-state").getAttribute("data-state")).toBe("online");
  expect(await bob.getByTestId("client-error").count()).toBe(0);
  expect(await bob.getByTestId("room-error").count()).toBe(0);
  expect(await bob.getByTestId("room-warnings").count()).toBe(0);
  await bob.waitForTimeout(500); // a duplicate would arrive right after its original
  const texts = await messageTexts(bob);
  for (const text of missed) expect(texts.filter((t) => t === text)).toHaveLength(1);
  expect(new Set(texts).size).toBe(texts.length);
  expect(await bob.locator('[data-testid="message-item"]:not([data-status="ok"])').count()).toBe(0);

  // The survivor reaps the dead node (its heart-beat expires after 6 s): Bob's connection, which
  // came back with the same socket id, must stay in the room.
  for (let i = 0; await redis.sIsMember(`${prefix}nodes`, bobNode); i++) {
    if (i > 300) throw new Error(`node ${bobNode} was never reaped`);
    await bob.waitForTimeout(100);
  }
  // And the conversation goes on, both ways, now on one node.
  await sendMessage(bob, "Bob again, on the surviving node");
  await waitForMessage(alice, "Bob again, on the surviving node");
  await sendMessage(alice, "welcome back");
  await waitForMessage(bob, "welcome back");
  expect(await alice.locator('[data-testid="member-item"][data-name="Bob"] [data-testid="member-presence"]').textContent()).toMatch(/online/);
  expect(await bob.getByTestId("connection-state").getAttribute("data-state")).toBe("online");
  expect(await bob.getByTestId("client-error").count()).toBe(0);
  console.log(
    `[pg-cluster.e2e] Bob on node ${bobNode} after ${reloads} reload(s); kill -9 of node ${bobNode}: Bob's page online again after ${reconnectMs} ms (${shown.map((s) => s.state).join(" → ")}), showing what he missed after ${caughtUpMs} ms`,
  );
});
