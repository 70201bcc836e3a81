/**
 * The transport's streams (wire format 3): one long-lived request per peer
 * carrying frames as the node hands messages over, acknowledged by signed
 * frames on the answer; a stream that goes unacknowledged is given up, a
 * newer stream from a sender ends its older one, and the requests of
 * earlier wire versions are refused naming both.
 */
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../platform/mod.ts";
import { encodeFrame, ZERO_ID } from "../../raft/_frame.ts";
import { encodeMessages } from "../../raft/_codec.ts";
import {
  HttpTransport,
  MESSAGES_PATH,
  TransportError,
} from "../../raft/transport.ts";
import type { Message } from "../../raft/types.ts";
import {
  capture,
  Client,
  Events,
  msg,
  post,
  receiver,
  SECRET,
} from "./_frames.ts";

/** Node 1 (sender) streaming to node 0 (receiver) on loopback. */
async function pair() {
  const events = new Events();
  const got: Message[][] = [];
  const b = new HttpTransport({
    id: 0,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => id === 1 ? "http://127.0.0.1:1" : undefined,
    onMessages: (ms) => {
      got.push(ms);
      events.notify();
    },
  });
  const captured = capture(b);
  const url = `http://127.0.0.1:${await b.listen({
    port: 0,
    hostname: "127.0.0.1",
  })}`;
  const a = new HttpTransport({
    id: 1,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => id === 0 ? url : undefined,
    onMessages: () => {},
  });
  return { a, b, got, captured, events };
}

describe("HTTP transport streams", () => {
  it("sends what is handed over in one turn as one frame, all frames on one request, in order", async () => {
    const p = await pair();
    try {
      for (let round = 0; round < 5; round++) {
        p.a.send([msg({ from: 1, to: 0, index: 2 * round })]);
        p.a.send([msg({ from: 1, to: 0, index: 2 * round + 1 })]);
        await p.events.until(`round ${round}`, () => p.got.length > round);
      }
      assert.deepEqual(
        p.got.map((batch) => batch.map((m) => m.index)),
        [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
      );
      assert.deepEqual(
        p.captured.map((c) => new URL(c.url).pathname),
        ["/raft/v3/hello", "/raft/v3/messages"],
        "a hello, then one stream",
      );
    } finally {
      await p.a.close();
      await p.b.close();
    }
  });

  it("gives up a stream whose frames go unacknowledged for requestTimeoutMs, and backs the peer off", async () => {
    let now = 0;
    const events = new Events();
    const inner = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => "http://127.0.0.1:1",
      onMessages: () => {},
    });
    let streams = 0;
    // A peer that accepts a stream and then neither reads nor answers it.
    const server = await serve((req) => {
      if (new URL(req.url).pathname !== MESSAGES_PATH) return inner.handle(req);
      streams++;
      events.notify();
      return new Response(new ReadableStream(), { status: 200 });
    }, { port: 0, hostname: "127.0.0.1" });
    const errors: unknown[] = [];
    const a = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => `http://127.0.0.1:${server.port}`,
      onMessages: () => {},
      clock: () => now,
      random: () => 0.5,
      onSendError: (_peer, error) => {
        errors.push(error);
        events.notify();
      },
    });
    try {
      a.send([msg({ from: 1, to: 0, index: 1 })]);
      await events.until("a stream", () => streams === 1);
      now = 1999;
      a.send([msg({ from: 1, to: 0, index: 2 })]);
      await Promise.resolve();
      assert.equal(errors.length, 0, "not yet");
      now = 2001;
      a.send([msg({ from: 1, to: 0, index: 3 })]);
      await events.until("the stream given up", () => errors.length === 1);
      assert.ok(errors[0] instanceof TransportError);
      assert.match(
        (errors[0] as Error).message,
        /acknowledge frames within 2000 ms, found none for 2001 ms/,
      );
      // Backed off (37.5 ms with this randomness): no new stream yet.
      a.send([msg({ from: 1, to: 0, index: 4 })]);
      for (let i = 0; i < 20; i++) await Promise.resolve();
      assert.equal(streams, 1);
    } finally {
      await a.close();
      await server.shutdown();
    }
  });

  it("takes acknowledgements only signed by the peer for its own stream", async () => {
    const events = new Events();
    const inner = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => "http://127.0.0.1:1",
      onMessages: () => {},
    });
    // A peer whose acknowledgement is signed with another secret.
    const server = await serve((req) => {
      if (new URL(req.url).pathname !== MESSAGES_PATH) return inner.handle(req);
      const forged = encodeFrame({
        kind: "ack",
        clusterId: "c1",
        from: 0,
        to: 1,
        session: ZERO_ID,
        seq: 1_000_000,
        nonce: ZERO_ID,
      }, { bytes: new Uint8Array(0), secret: "not the cluster's secret" });
      return new Response(forged, { status: 200 });
    }, { port: 0, hostname: "127.0.0.1" });
    const errors: Error[] = [];
    const a = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => `http://127.0.0.1:${server.port}`,
      onMessages: () => {},
      onSendError: (_peer, error) => {
        errors.push(error as Error);
        events.notify();
      },
    });
    try {
      a.send([msg({ from: 1, to: 0, index: 1 })]);
      await events.until("the stream refused", () => errors.length > 0);
      assert.match(errors[0].message, /signed acknowledgements from node 0/);
    } finally {
      await a.close();
      await server.shutdown();
    }
  });

  it("ends a sender's older stream when a newer one from it is accepted", async () => {
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    let more!: ReadableStreamDefaultController<Uint8Array>;
    const older = new ReadableStream<Uint8Array>({
      start(controller) {
        more = controller;
        controller.enqueue(c.frame([msg({ index: 1 })]));
      },
    });
    const first = await t.handle(post(MESSAGES_PATH, older));
    assert.equal(first.status, 200);
    const second = await t.handle(
      post(MESSAGES_PATH, c.frame([msg({ index: 2 })])),
    );
    assert.equal(second.status, 200);
    // The older stream's answer ends, and its body is no longer read.
    await first.arrayBuffer();
    assert.throws(
      () => more.enqueue(c.frame([msg({ index: 3 })])),
      TypeError,
    );
    await second.arrayBuffer();
    assert.deepEqual(got.map((b) => b[0].index), [1, 2]);
  });

  it("gives each frame of a stream bodyTimeoutMs from its first byte, however long the stream idles between frames", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const { t, got, refused } = receiver({ bodyTimeoutMs: 200 });
      const c = new Client(t);
      await c.hello();
      let more!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          more = controller;
          controller.enqueue(c.frame([msg({ index: 1 })]));
        },
      });
      const res = await t.handle(post(MESSAGES_PATH, body));
      assert.equal(res.status, 200);
      const settle = async () => {
        for (let i = 0; i < 50; i++) await Promise.resolve();
      };
      mock.timers.tick(10_000); // idle: no frame begun, nothing late
      await settle();
      more.enqueue(c.frame([msg({ index: 2 })]));
      await settle();
      assert.deepEqual(got.map((b) => b[0].index), [1, 2]);
      assert.equal(refused.length, 0);
      const third = c.frame([msg({ index: 3 })]);
      more.enqueue(third.subarray(0, 120)); // a frame begun, then stalled
      await settle();
      mock.timers.tick(199);
      await settle();
      assert.equal(refused.length, 0, "not yet late");
      mock.timers.tick(1);
      await settle();
      assert.deepEqual(
        refused.map((r) => [r.reason, r.status, r.peer]),
        [["timeout", 408, 1]],
      );
      await res.arrayBuffer(); // the stream ended
      assert.deepEqual(got.map((b) => b[0].index), [1, 2]);
    } finally {
      mock.timers.reset();
    }
  });

  it("acknowledges on the answer, signed, the highest frame it delivered", async () => {
    const { t } = receiver();
    const c = new Client(t);
    await c.hello();
    const frames = [1, 2, 3].map((i) => c.frame([msg({ index: i })]));
    const res = await t.handle(post(MESSAGES_PATH, new Blob(frames).stream()));
    assert.equal(res.status, 200);
    const answer = new Uint8Array(await res.arrayBuffer());
    const expected = encodeFrame({
      kind: "ack",
      clusterId: "c1",
      from: 0,
      to: 1,
      session: c.session,
      seq: 3,
      nonce: ZERO_ID,
    }, { bytes: new Uint8Array(0), secret: SECRET });
    assert.deepEqual(
      answer.subarray(answer.length - expected.length),
      expected,
    );
  });

  it("refuses the requests of earlier 0.2 builds (wire format 2) with an error naming both versions", async () => {
    const { t, got, refused } = receiver();
    const body = encodeMessages([msg()]);
    for (const path of ["/raft/v2/hello", "/raft/v2/messages"]) {
      const res = await t.handle(post(path, body));
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("x-raft-refused"), "version");
      assert.match(
        await res.text(),
        /version 3 .*found wire format version 2 \(POST \/raft\/v2\//,
      );
    }
    assert.deepEqual(refused.map((r) => r.reason), ["version", "version"]);
    assert.deepEqual(got, []);
  });
});
