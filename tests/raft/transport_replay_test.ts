/**
 * Replay protection of the HTTP transport. Real traffic between two
 * transports on loopback is captured at the receiver, then replayed: to the
 * same receiver, to a restarted one, and after the sender restarted. Each
 * message type gets its own test (a replayed heartbeat keeps followers loyal
 * to a dead leader, a replayed timeoutNow forces an election, a replayed
 * vote or append moves terms and logs). Nothing replayed may be delivered.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../platform/mod.ts";
import { HttpTransport } from "../../raft/transport.ts";
import type { Message } from "../../raft/types.ts";
import {
  capture,
  type Captured,
  Client,
  Events,
  heldBody,
  MESSAGE_TYPES,
  messageOf,
  msg,
  post,
  receiver,
  replay,
  SECRET,
} from "./_frames.ts";
import { MESSAGES_PATH } from "../../raft/transport.ts";

/** Node 1 (sender) and node 0 (receiver) on loopback; node 0's requests are captured. */
async function pair() {
  const events = new Events();
  const got: Message[] = [];
  let url = "";
  const sender = (): HttpTransport =>
    new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: (id) => id === 0 ? url : undefined,
      onMessages: () => {},
    });
  const receiverAt = () =>
    new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: (id) => id === 1 ? "http://127.0.0.1:1" : undefined,
      onMessages: (ms) => {
        got.push(...ms);
        events.notify();
      },
    });
  const b = receiverAt();
  const captured = capture(b);
  url = `http://127.0.0.1:${await b.listen({
    port: 0,
    hostname: "127.0.0.1",
  })}`;
  let a = sender();
  return {
    got,
    captured,
    receiver: b,
    get sender() {
      return a;
    },
    /** Sends `messages` from node 1 and waits until node 0 has them all. */
    async deliver(messages: Message[]): Promise<void> {
      const want = got.length + messages.length;
      a.send(messages);
      await events.until(
        `${messages.length} messages delivered`,
        () => got.length >= want,
      );
    },
    /** Node 1 restarts: a new transport, nothing remembered. */
    async restartSender(): Promise<void> {
      await a.close();
      a = sender();
    },
    /** A restarted node 0: a new transport, nothing remembered. */
    restartedReceiver: receiverAt,
    async close(): Promise<void> {
      await a.close();
      await b.close();
    },
  };
}

/** Replays every captured request to `to`; returns the statuses. */
async function replayAll(
  captured: readonly Captured[],
  to: HttpTransport,
): Promise<number[]> {
  const statuses: number[] = [];
  for (const c of captured) {
    statuses.push((await to.handle(replay(c))).status);
  }
  return statuses;
}

function refusedAll(statuses: number[], what: string): void {
  for (const status of statuses) {
    assert.ok(
      status >= 400 && status < 500,
      `${what}: expected a refusal, found ${status}`,
    );
  }
}

describe("HTTP transport replay protection", () => {
  for (const type of MESSAGE_TYPES) {
    it(`delivers a captured ${type} once: replayed to the receiver, to the restarted receiver or after the sender restarted, it is refused`, async () => {
      const p = await pair();
      try {
        const m = messageOf(type, { from: 1, to: 0 });
        await p.deliver([m]);
        const captured = [...p.captured];
        const carrying = captured.filter((c) =>
          !c.url.endsWith("/hello") && c.body.length > 0
        );
        assert.ok(carrying.length > 0, "the message's request was captured");
        const delivered = p.got.length;

        refusedAll(await replayAll(carrying, p.receiver), "same receiver");
        // A restarted receiver cannot tell a replayed hello from a new one:
        // it opens a session the replayer cannot use, and refuses the rest.
        const restarted = p.restartedReceiver();
        await replayAll(
          captured.filter((c) => !carrying.includes(c)),
          restarted,
        );
        refusedAll(await replayAll(carrying, restarted), "restarted receiver");
        await p.restartSender();
        await p.deliver([msg({ type: "heartbeat", entries: [], index: 99 })]);
        refusedAll(
          await replayAll(carrying, p.receiver),
          "after the sender restarted",
        );
        assert.equal(p.got.length, delivered + 1, "only the new heartbeat");
        assert.deepEqual(p.got.slice(0, delivered), [m]);
      } finally {
        await p.close();
      }
    });
  }

  it("refuses a whole captured batch replayed, and refuses a replayed hello", async () => {
    const p = await pair();
    try {
      const batch = [
        msg({ from: 1, to: 0, index: 1 }),
        msg({ from: 1, to: 0, type: "heartbeat", entries: [], index: 2 }),
        msg({ from: 1, to: 0, type: "vote", entries: [], index: 3 }),
      ];
      await p.deliver(batch);
      const delivered = p.got.length;
      const captured = [...p.captured];
      assert.equal(
        captured.length,
        2,
        "a hello, then the batch in one request",
      );
      refusedAll(await replayAll(captured, p.receiver), "batch and hello");
      assert.equal(p.got.length, delivered);
    } finally {
      await p.close();
    }
  });

  it("accepts a session's frames out of order within the window, each once, and none behind it", async () => {
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    const send = (seq: number) =>
      t.handle(post(MESSAGES_PATH, c.frame([msg({ index: seq })], { seq })))
        .then((r) => r.status);
    const statuses: number[] = [];
    for (const seq of [5, 3, 4, 1, 2]) statuses.push(await send(seq));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    assert.equal(await send(3), 409);
    assert.equal(await send(1030), 200);
    assert.equal(await send(7), 200, "less than 1024 behind the highest");
    assert.equal(await send(6), 409, "1024 behind the highest");
    assert.equal(await send(5), 409, "accepted before");
    assert.equal(await send(2000), 200);
    assert.equal(await send(900), 409, "behind the window");
    assert.deepEqual(got.map((b) => b[0].index), [
      5,
      3,
      4,
      1,
      2,
      1030,
      7,
      2000,
    ]);
  });

  it("delivers a frame once when a copy races the original", async () => {
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    const frame = c.frame([msg()]);
    const original = heldBody(frame);
    const copy = heldBody(frame);
    const first = t.handle(post(MESSAGES_PATH, original.stream));
    const second = t.handle(post(MESSAGES_PATH, copy.stream));
    await Promise.race([original.reading, copy.reading]);
    original.release();
    copy.release();
    const statuses = [(await first).status, (await second).status].sort();
    assert.deepEqual(statuses, [200, 409]);
    assert.equal(got.length, 1);
  });

  it("refuses a frame whose body failed to verify without using up its number", async () => {
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    const frame = c.frame([msg()], { seq: 7 });
    const broken = frame.slice();
    broken[broken.length - 1] ^= 1;
    assert.equal((await t.handle(post(MESSAGES_PATH, broken))).status, 401);
    assert.equal((await t.handle(post(MESSAGES_PATH, frame))).status, 200);
    assert.equal((await t.handle(post(MESSAGES_PATH, frame))).status, 409);
    assert.equal(got.length, 1);
  });
});

describe("HTTP transport after a peer restarts", () => {
  it("opens a new session at once when the receiver restarted, losing no batch", async () => {
    const events = new Events();
    const got: Message[] = [];
    const errors: unknown[] = [];
    const make = () =>
      new HttpTransport({
        id: 0,
        clusterId: "c1",
        secret: SECRET,
        peerUrl: () => "http://127.0.0.1:1",
        onMessages: (ms) => {
          got.push(...ms);
          events.notify();
        },
      });
    // The receiver's address stays; its process state (the sessions) is
    // replaced and its connections end, as when a pod restarts behind the
    // same name.
    let receiving = make();
    const server = await serve((req) => receiving.handle(req), {
      port: 0,
      hostname: "127.0.0.1",
    });
    const a = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => `http://127.0.0.1:${server.port}`,
      onMessages: () => {},
      retryDelayMs: 60_000,
      onSendError: (_peer, error) => {
        errors.push(error);
        events.notify();
      },
    });
    try {
      a.send([msg({ index: 1 })]);
      await events.until("the first append", () => got.length === 1);
      await receiving.close();
      receiving = make();
      a.send([msg({ type: "voteResp", entries: [], index: 2 })]);
      await events.until("the vote answer", () => got.length === 2);
      assert.deepEqual(got.map((m) => m.index), [1, 2]);
      assert.equal(
        errors.filter((e) => (e as { reason?: string }).reason === "session")
          .length,
        1,
        "the new receiver refused the old session once",
      );
    } finally {
      await a.close();
      await server.shutdown();
    }
  });
});
