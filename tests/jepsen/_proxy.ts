/**
 * Network partitions between node processes on loopback: one TCP proxy per
 * directed link, inside the test process.
 *
 * The transport sends every Raft message as a one-way POST from the sender
 * to the receiver (`raft/transport.ts`: the answer is an empty 204, never a
 * Raft message), so the link `a → b` carries exactly what `a` says to `b`,
 * and cutting it alone is a one-way partition. Node `a` started with
 * `proxied: true` sends to `b` through the URL in `link-a-b.url`, which
 * points at that link's proxy; the proxy forwards each connection to `b`'s
 * current address (`b.url`, rewritten whenever `b` restarts on a new port).
 *
 * A cut link behaves like a black hole: its open connections are closed (a
 * request in flight may or may not have been delivered), and new ones are
 * accepted and never answered, so the sender's requests time out. Healing
 * closes the held connections, and the sender's next request goes through.
 * Cuts are counted, so two overlapping faults that cut one link heal it
 * only when both have ended.
 *
 * @module
 */
import { connect, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

interface Link {
  server: Server;
  cuts: number;
  /** Forwarded connections: both ends. */
  live: Set<[Socket, Socket]>;
  /** Connections accepted while cut, never answered. */
  held: Set<Socket>;
}

function targetPort(dir: string, id: number): number | undefined {
  try {
    const url = readFileSync(join(dir, `${id}.url`), "utf8");
    return Number(new URL(url).port);
  } catch {
    return undefined;
  }
}

/** The proxies of every directed link among a set of node ids. */
export class LinkProxies {
  readonly #links = new Map<string, Link>();
  readonly #dir: string;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Starts a proxy for every ordered pair of `ids` and writes the link
   * files into `dir` (the cluster's directory) before any node needs them.
   */
  static async start(
    ids: readonly number[],
    dir: string,
  ): Promise<LinkProxies> {
    const proxies = new LinkProxies(dir);
    for (const from of ids) {
      for (const to of ids) {
        if (from !== to) await proxies.#open(from, to);
      }
    }
    return proxies;
  }

  async #open(from: number, to: number): Promise<void> {
    const link: Link = {
      server: createServer(),
      cuts: 0,
      live: new Set(),
      held: new Set(),
    };
    link.server.on("connection", (client) => this.#accept(link, to, client));
    await new Promise<void>((resolve) =>
      link.server.listen(0, "127.0.0.1", resolve)
    );
    const { port } = link.server.address() as { port: number };
    this.#links.set(`${from}-${to}`, link);
    const file = join(this.#dir, `link-${from}-${to}.url`);
    await writeFile(`${file}.tmp`, `http://127.0.0.1:${port}`);
    await rename(`${file}.tmp`, file);
  }

  #accept(link: Link, to: number, client: Socket): void {
    client.on("error", () => {});
    if (link.cuts > 0) {
      link.held.add(client);
      client.on("close", () => link.held.delete(client));
      client.resume(); // read and drop whatever arrives
      return;
    }
    const port = targetPort(this.#dir, to);
    if (port === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect({ port, host: "127.0.0.1" });
    upstream.on("error", () => {});
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    link.live.add(pair);
    const close = () => {
      link.live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close);
    upstream.on("close", close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  #link(from: number, to: number): Link {
    const link = this.#links.get(`${from}-${to}`);
    if (link === undefined) {
      throw new Error(`Expected a proxied link ${from} -> ${to}, found none`);
    }
    return link;
  }

  /** Cuts the link `from → to` (once more, if already cut). */
  cut(from: number, to: number): void {
    const link = this.#link(from, to);
    link.cuts++;
    for (const [a, b] of link.live) {
      a.destroy();
      b.destroy();
    }
    link.live.clear();
  }

  /** Undoes one cut of `from → to`; the link carries again after the last. */
  heal(from: number, to: number): void {
    const link = this.#link(from, to);
    if (link.cuts === 0) {
      throw new Error(`Expected link ${from} -> ${to} to be cut, found it up`);
    }
    if (--link.cuts > 0) return;
    for (const socket of link.held) socket.destroy();
    link.held.clear();
  }

  /** Whether `from → to` is cut. */
  isCut(from: number, to: number): boolean {
    return this.#link(from, to).cuts > 0;
  }

  /** Heals every link at once (the end of a run). */
  healAll(): void {
    for (const link of this.#links.values()) {
      link.cuts = 0;
      for (const socket of link.held) socket.destroy();
      link.held.clear();
    }
  }

  /** Stops every proxy. */
  async close(): Promise<void> {
    for (const link of this.#links.values()) {
      for (const [a, b] of link.live) {
        a.destroy();
        b.destroy();
      }
      for (const socket of link.held) socket.destroy();
      await new Promise((resolve) => link.server.close(resolve));
    }
  }
}
