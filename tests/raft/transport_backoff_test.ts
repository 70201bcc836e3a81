/**
 * The transport's per-peer backoff, on a fake clock: a leader heartbeats a
 * peer whose requests keep failing (its name does not resolve: a pod stuck
 * Pending) for a simulated minute. Every request is one lookup of the name,
 * so the requests counted here are the lookups.
 */
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { HttpTransport } from "../../raft/transport.ts";
import { Client, msg, SECRET } from "./_frames.ts";
import { seeded } from "../../testing/raft/random.ts";

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

/** A transport as node 0 whose every request to node 1 fails like an unresolvable name. */
function failing() {
  const attempts: number[] = [];
  const t = new HttpTransport({
    id: 0,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => `http://op-${id}.raft.ops.svc.cluster.local.:7000`,
    onMessages: () => {},
    fetch: () => {
      attempts.push(Date.now());
      return Promise.reject(
        new TypeError("dns error: failed to lookup address information"),
      );
    },
    clock: () => Date.now(),
    random: seeded(3),
  });
  return { t, attempts };
}

/** Heartbeats to node 1 every 50 ms of fake time, `ms` long. */
async function heartbeat(t: HttpTransport, ms: number): Promise<void> {
  const beat = msg({ type: "heartbeat", from: 0, to: 1, entries: [] });
  for (let elapsed = 0; elapsed < ms; elapsed += 50) {
    t.send([beat]);
    await settle();
    mock.timers.tick(50);
    await settle();
  }
}

describe("HTTP transport backoff", () => {
  it("backs off exponentially with jitter from a peer whose requests keep failing, one request per wait", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    const { t, attempts } = failing();
    try {
      await heartbeat(t, 60_000);
      console.log(
        `requests to the failing peer in a simulated minute of 1200 heartbeats: ${attempts.length}`,
      );
      // The first failure is resent at once (a peer that restarted
      // elsewhere gets its vote answer); then the waits double from 50 ms
      // to 1 s, each between half and all of its nominal length, counted
      // from when the failure was seen: up to one 50 ms step of the fake
      // clock after the request.
      const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
      assert.equal(gaps[0], 0);
      for (let k = 1; k < gaps.length; k++) {
        const nominal = Math.min(1000, 50 * 2 ** (k - 1));
        assert.ok(
          gaps[k] >= nominal / 2 && gaps[k] <= nominal + 50,
          `wait ${k}: ${gaps[k]} ms, expected between ${nominal / 2} and ${
            nominal + 50
          }`,
        );
      }
      assert.ok(
        new Set(gaps.slice(1).map((g, k) => g / Math.min(1000, 50 * 2 ** k)))
          .size > 5,
        "the waits are jittered",
      );
      // 1200 heartbeats, and at most one request a half second once the
      // waits reached a second.
      assert.ok(
        attempts.length <= 125,
        `Expected at most 125 requests in a minute, found ${attempts.length}`,
      );
      const lastTwenty = attempts.filter((at) => at >= 40_000).length;
      assert.ok(lastTwenty <= 40, `${lastTwenty} requests in the last 20 s`);
    } finally {
      await t.close();
      mock.timers.reset();
    }
  });

  it("ends the backoff when the peer is heard from, and sends at once", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 0 });
    const { t, attempts } = failing();
    try {
      await heartbeat(t, 20_000);
      const before = attempts.length;
      // Node 1 comes up and opens a session with us.
      await new Client(t, { from: 1, to: 0 }).hello();
      await settle();
      assert.ok(attempts.length > before, "a request at once");
      assert.equal(attempts[before], Date.now());
    } finally {
      await t.close();
      mock.timers.reset();
    }
  });

  it("opens a session with each peer it is asked to connect to, not itself, once", async () => {
    const hellos: string[] = [];
    const t = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: (id) => `http://op-${id}.raft.ops.svc.cluster.local.:7000`,
      onMessages: () => {},
      fetch: (url) => {
        hellos.push(String(url));
        return Promise.reject(new TypeError("connection refused"));
      },
      onSendError: () => {},
    });
    try {
      t.connect([0, 1, 2, 1]);
      await settle();
      assert.deepEqual(hellos.sort(), [
        "http://op-1.raft.ops.svc.cluster.local.:7000/raft/v3/hello",
        "http://op-2.raft.ops.svc.cluster.local.:7000/raft/v3/hello",
      ]);
    } finally {
      await t.close();
    }
  });
});
