/**
 * A peer that was down and came back (a killed leader's process restarted,
 * on a new port as a pod on a new address): the next message to it is
 * delivered at once, though this node holds a session the peer's previous
 * process opened (it refuses it) and backed off from it while it was down.
 * Before, the message was dropped: a refused session was resent only if a
 * stream of it had been accepted, and the one resend after a failure had
 * been spent while the peer was down. At election time that message is a
 * vote or pre-vote answer, and dropping it cost a whole election timeout
 * (`bench:raft`'s kill -9 failover, `bench/results/failover_regression.md`).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { HttpTransport } from "../../raft/transport.ts";
import type { TransportRefusal } from "../../raft/transport.ts";
import type { Message } from "../../raft/types.ts";
import { Events, msg, SECRET } from "./_frames.ts";

/** Node 0's process: a transport listening on a port of its own. */
async function peerProcess(events: Events) {
  const got: Message[] = [];
  const refused: TransportRefusal[] = [];
  const welcomed = { count: 0 };
  const t = new HttpTransport({
    id: 0,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => id === 1 ? nodeOneUrl : undefined,
    onMessages: (ms) => {
      got.push(...ms);
      events.notify();
    },
    onRefused: (r) => {
      refused.push(r);
      events.notify();
    },
    fetch: answered(() => {
      welcomed.count++;
      events.notify();
    }),
  });
  const port = await t.listen({ port: 0, hostname: "127.0.0.1" });
  return { t, got, refused, welcomed, url: `http://127.0.0.1:${port}` };
}

let nodeOneUrl = "";

/** `fetch`, calling `done` once an answer was read whole (before the caller sees it). */
function answered(done: () => void): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const body = await res.arrayBuffer();
    done();
    return new Response(body, { status: res.status, headers: res.headers });
  };
}

/**
 * Node 1 holding a session with node 0's first process that it never sent
 * a stream in (`connect` opened it), then backed off from node 0 while it
 * was down; node 0 restarts on a new port and says hello. `cachedAddress`:
 * node 1 looks node 0's address up again only after a failure (as the
 * process harness and a cached DNS answer do), so its first attempt goes to
 * the old port.
 */
async function restartedPeer(
  options: { cachedAddress: boolean; greeted: boolean },
) {
  const events = new Events();
  let current = "";
  let cached: string | null = null;
  const errors: unknown[] = [];
  let welcomes = 0;
  const one = new HttpTransport({
    id: 1,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => {
      if (id !== 0) return undefined;
      if (!options.cachedAddress) return current;
      cached ??= current;
      return cached;
    },
    onMessages: () => {},
    onSendError: (_peer, error) => {
      cached = null;
      errors.push(error);
      events.notify();
    },
    fetch: answered(() => {
      welcomes++;
      events.notify();
    }),
  });
  nodeOneUrl = `http://127.0.0.1:${await one.listen({
    port: 0,
    hostname: "127.0.0.1",
  })}`;
  const first = await peerProcess(events);
  current = first.url;
  one.connect([0]);
  await events.until("node 0's welcome", () => welcomes === 1);
  if (options.greeted) {
    first.t.connect([1]);
    await events.until("node 1's welcome", () => first.welcomed.count === 1);
  }
  await new Promise((r) => setImmediate(r));
  await first.t.close();
  // Node 0 is down: what node 1 sends it fails, is resent once, and fails
  // again; node 1 backs off.
  one.send([msg({ type: "heartbeat", from: 1, to: 0, index: 1 })]);
  await events.until("two failed attempts", () => errors.length >= 2);
  // Looked up again, node 0's name still gives its old address.
  if (options.cachedAddress) cached = first.url;
  const second = await peerProcess(events);
  current = second.url;
  second.t.connect([1]);
  await events.until("node 1's welcome", () => second.welcomed.count === 1);
  return { one, second, events, errors };
}

describe("HTTP transport, a peer that restarted", () => {
  for (const cachedAddress of [false, true]) {
    it(
      `delivers the next message to it at once, in a new session${
        cachedAddress
          ? ", though the first attempt goes to its old address"
          : ""
      }`,
      async () => {
        const { one, second, events } = await restartedPeer({
          cachedAddress,
          greeted: false,
        });
        try {
          one.send([msg({ type: "preVoteResp", from: 1, to: 0, term: 7 })]);
          await events.until(
            "the pre-vote answer at node 0",
            () => second.got.some((m) => m.type === "preVoteResp"),
            5_000,
          );
          assert.deepEqual(
            second.got.filter((m) => m.type === "preVoteResp").map((m) =>
              m.term
            ),
            [7],
            "delivered once",
          );
          assert.deepEqual(
            second.refused.map((r) => r.reason),
            ["session"],
            "the stale session refused once, then a new one",
          );
        } finally {
          await one.close();
          await second.t.close();
        }
      },
    );
  }

  it("forgets the session the peer's previous process opened when it says hello again: the next message is not refused first", async () => {
    const { one, second, events } = await restartedPeer({
      cachedAddress: false,
      greeted: true,
    });
    try {
      one.send([msg({ type: "voteResp", from: 1, to: 0, term: 8 })]);
      await events.until(
        "the vote answer at node 0",
        () => second.got.some((m) => m.type === "voteResp"),
        5_000,
      );
      assert.deepEqual(second.refused, [], "no stale session sent");
    } finally {
      await one.close();
      await second.t.close();
    }
  });
});
