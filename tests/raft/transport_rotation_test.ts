/**
 * Rotating the shared secret without downtime. A transport signs with its
 * first secret and accepts any of its secrets; the rotation from A to B goes
 * in three steps, each rolled out one node at a time (a pod restart: a new
 * transport): sign A and accept B, then sign B and accept A, then sign B
 * only. Three Raft nodes on loopback keep their leader and term through the
 * nine restarts, and no request is refused for its signature; skipping the
 * first step is caught.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeMessages } from "../../raft/_codec.ts";
import { KeyValueStore } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import {
  HttpTransport,
  MESSAGES_PATH,
  type TransportRefusal,
} from "../../raft/transport.ts";
import type { NodeId } from "../../raft/types.ts";
import { encodeFrame, ZERO_ID } from "../../raft/_frame.ts";
import { Client, Events, msg, post, receiver } from "./_frames.ts";

const A = "secret-A-0123456789abcdef";
const B = "secret-B-0123456789abcdef";

describe("HTTP transport secrets", () => {
  it("accepts frames signed with any of its secrets and signs its own with the first", async () => {
    const { t, got } = receiver({ secret: B, acceptedSecrets: [A] });
    const old = new Client(t, { secret: A });
    await assert.rejects(
      old.hello([A]),
      /signature/,
      "the welcome is signed with B",
    );
    await old.hello([A, B]);
    assert.equal((await old.send([msg({ index: 1 })])).status, 200);
    const next = new Client(t, { secret: B });
    await next.hello([B]);
    assert.equal((await next.send([msg({ index: 2 })])).status, 200);
    const other = new Client(t, { secret: "secret-C-0123456789abcdef" });
    const refused = await t.handle(post(
      MESSAGES_PATH,
      encodeFrame({
        kind: "messages",
        clusterId: "c1",
        from: 1,
        to: 0,
        session: next.session,
        seq: 99,
        nonce: ZERO_ID,
      }, { bytes: encodeMessages([msg()]), secret: other.secret }),
    ));
    assert.equal(refused.status, 401);
    assert.deepEqual(got.map((b) => b[0].index), [1, 2]);
  });
});

class Durable extends MemoryStorage {
  override readonly durable: boolean = true;
}

/** Three nodes whose transports can be restarted with other secrets. */
async function cluster() {
  const events = new Events();
  const ids = [0, 1, 2];
  const urls = new Map<NodeId, string>();
  const refusals: TransportRefusal[] = [];
  /** Per node, each sender whose frame its current transport delivered. */
  const heard = new Map<NodeId, Set<NodeId>>();
  const nodes = new Map<NodeId, RaftNode>();
  const transports = new Map<NodeId, HttpTransport>();
  const start = async (id: NodeId, secrets: string[]) => {
    heard.set(id, new Set());
    const t = new HttpTransport({
      id,
      clusterId: "rotation",
      secret: secrets[0],
      acceptedSecrets: secrets.slice(1),
      peerUrl: (peer) => urls.get(peer),
      onMessages: (ms) => {
        for (const m of ms) heard.get(id)!.add(m.from);
        nodes.get(id)?.receive(ms);
        events.notify();
      },
      onRefused: (r) => {
        refusals.push(r);
        events.notify();
      },
    });
    const port = await t.listen({ port: 0, hostname: "127.0.0.1" });
    transports.set(id, t);
    urls.set(id, `http://127.0.0.1:${port}`);
  };
  for (const id of ids) await start(id, [A]);
  for (const id of ids) {
    nodes.set(
      id,
      await RaftNode.start({
        id,
        storage: new Durable(),
        bootstrap: { voters: ids, learners: [] },
        stateMachine: new KeyValueStore(),
        send: (ms) => transports.get(id)!.send(ms),
        // Slow elections: a loaded machine must not start one on its own.
        tickMs: 100,
        electionTicks: 10,
      }),
    );
  }
  for (const node of nodes.values()) node.onRoleChange(() => events.notify());
  const leader = () =>
    [...nodes.values()].find((n) => n.status().role === "leader") ?? null;
  await events.until("a leader", () => leader()?.isLeader() ?? false, 20_000);
  return {
    events,
    refusals,
    heard,
    leader,
    /** Node `id` restarts its transport with `secrets` (first signs). */
    async restart(id: NodeId, secrets: string[]): Promise<void> {
      await transports.get(id)!.close();
      await start(id, secrets);
    },
    async close(): Promise<void> {
      for (const node of nodes.values()) await node.stop({ transfer: false });
      for (const t of transports.values()) await t.close();
    },
  };
}

describe("a rolling secret rotation across three nodes", () => {
  it("keeps the leader and its term through three steps of one restart per node, with no request refused for its signature", async () => {
    const c = await cluster();
    try {
      const first = c.leader()!;
      const { term } = first.status();
      const steps = [[A, B], [B, A], [B]];
      for (const secrets of steps) {
        for (const id of [0, 1, 2]) {
          await c.restart(id, secrets);
          // The restarted node and the leader hear each other again.
          const other = id === first.id
            ? [0, 1, 2].filter((i) => i !== id)
            : [first.id];
          await c.events.until(
            `node ${id} (${secrets.length} secrets) talking to the cluster`,
            () =>
              other.every((o) => c.heard.get(id)!.has(o)) &&
              (id === first.id || c.heard.get(first.id)!.has(id)),
          );
          c.heard.get(first.id)!.clear();
          assert.deepEqual(
            c.refusals.filter((r) => r.reason === "signature"),
            [],
          );
          assert.equal(c.leader(), first, "the same leader");
          assert.equal(first.status().term, term, "in the same term");
        }
      }
      assert.ok(first.isLeader());
    } finally {
      await c.close();
    }
  });

  it("is broken by skipping the first step: the leader refuses the node that signs with B", async () => {
    const c = await cluster();
    try {
      const follower = [0, 1, 2].find((id) => id !== c.leader()!.id)!;
      await c.restart(follower, [B, A]);
      await c.events.until(
        "a refusal for the signature",
        () => c.refusals.some((r) => r.reason === "signature"),
      );
    } finally {
      await c.close();
    }
  });
});
