/**
 * The per-link proxies of the linearizability test: a cut link delivers
 * nothing in its direction and leaves the other direction alone, a healed
 * link carries again, overlapping cuts heal only together, and a receiver
 * that restarts on a new port is found through its address file.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "../../platform/mod.ts";
import type { HttpServer } from "../../platform/mod.ts";
import { LinkProxies } from "./_proxy.ts";

/** A receiver: records the bodies POSTed to it. */
async function receiver(
  dir: string,
  id: number,
): Promise<{ server: HttpServer; got: string[] }> {
  const got: string[] = [];
  const server = await serve(async (req) => {
    got.push(await req.text());
    return new Response(null, { status: 204 });
  }, { port: 0, hostname: "127.0.0.1" });
  await writeFile(join(dir, `${id}.url`), `http://127.0.0.1:${server.port}`);
  return { server, got };
}

function linkUrl(dir: string, from: number, to: number): Promise<string> {
  return readFile(join(dir, `link-${from}-${to}.url`), "utf8");
}

/**
 * POSTs `body` over the link; resolves with the status, or `"no answer"`
 * within `timeoutMs`. A cut link never answers, so a short deadline proves
 * it as well as a long one; an open link gets the long default, for loaded
 * machines.
 */
async function post(
  url: string,
  body: string,
  timeoutMs = 10_000,
): Promise<number | "no answer"> {
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.status;
  } catch {
    return "no answer";
  }
}

describe("LinkProxies", () => {
  let dir: string;
  let proxies: LinkProxies;
  const servers: HttpServer[] = [];
  let node0: { server: HttpServer; got: string[] };
  let node1: { server: HttpServer; got: string[] };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "jepsen-proxy-"));
    node0 = await receiver(dir, 0);
    node1 = await receiver(dir, 1);
    servers.push(node0.server, node1.server);
    proxies = await LinkProxies.start([0, 1], dir);
  });
  after(async () => {
    await proxies.close();
    for (const s of servers) await s.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  it("forwards each direction to its receiver", async () => {
    assert.equal(await post(await linkUrl(dir, 0, 1), "a"), 204);
    assert.equal(await post(await linkUrl(dir, 1, 0), "b"), 204);
    assert.deepEqual(node1.got, ["a"]);
    assert.deepEqual(node0.got, ["b"]);
  });

  it("cuts one direction only, and carries it again once healed", async () => {
    proxies.cut(0, 1);
    assert.equal(
      await post(await linkUrl(dir, 0, 1), "lost", 300),
      "no answer",
    );
    assert.equal(await post(await linkUrl(dir, 1, 0), "through"), 204);
    assert.ok(!node1.got.includes("lost"));
    assert.ok(node0.got.includes("through"));
    proxies.heal(0, 1);
    assert.equal(await post(await linkUrl(dir, 0, 1), "again"), 204);
    assert.ok(node1.got.includes("again"));
  });

  it("heals a link cut twice only when both cuts are healed", async () => {
    proxies.cut(1, 0);
    proxies.cut(1, 0);
    proxies.heal(1, 0);
    assert.ok(proxies.isCut(1, 0));
    assert.equal(
      await post(await linkUrl(dir, 1, 0), "lost", 300),
      "no answer",
    );
    proxies.heal(1, 0);
    assert.equal(await post(await linkUrl(dir, 1, 0), "back"), 204);
    assert.ok(!node0.got.includes("lost"));
    assert.throws(() => proxies.heal(1, 0), /to be cut, found it up/);
  });

  it("finds a receiver restarted on a new port", async () => {
    await node1.server.shutdown();
    servers.splice(servers.indexOf(node1.server), 1);
    const restarted = await receiver(dir, 1);
    servers.push(restarted.server);
    assert.equal(await post(await linkUrl(dir, 0, 1), "new home"), 204);
    assert.deepEqual(restarted.got, ["new home"]);
  });
});
