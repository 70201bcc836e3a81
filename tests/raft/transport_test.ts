import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import {
  CodecError,
  decodeMessages,
  encodedMessageSize,
  encodeMessages,
} from "../../raft/_codec.ts";
import { encodeFrame, ZERO_ID } from "../../raft/_frame.ts";
import {
  HttpTransport,
  MESSAGES_PATH,
  SNAPSHOT_PATH,
  type TransportError,
} from "../../raft/transport.ts";
import type { Message } from "../../raft/types.ts";
import { KeyValueStore } from "../../raft/kv.ts";
import { MemoryStorage } from "../../raft/memory_storage.ts";
import { RaftNode } from "../../raft/node.ts";
import { serve } from "../../platform/mod.ts";
import { below, seeded } from "../../testing/raft/random.ts";
import {
  capture,
  Client,
  heldBody,
  msg,
  post,
  receiver,
  replay,
  SECRET,
  snapMsg,
} from "./_frames.ts";

describe("message codec", () => {
  it("round-trips every field of every message kind", () => {
    const batch = [
      msg(),
      msg({ type: "voteResp", reject: true, entries: [], rejectHint: 5 }),
      msg({ type: "vote", entries: [], transfer: true }),
      msg({ type: "heartbeatResp", entries: [], healthy: true }),
      msg({ type: "heartbeat", entries: [], shard: new Uint8Array([1, 2, 3]) }),
      msg({
        type: "heartbeatResp",
        entries: [],
        shard: new Uint8Array([1, 1, 0]),
      }),
      snapMsg,
    ];
    const body = encodeMessages(batch);
    assert.deepEqual(decodeMessages(body), batch);
    assert.equal(
      body.length,
      8 + batch.reduce((n, m) => n + encodedMessageSize(m), 0),
      "encodedMessageSize counts the shard bytes",
    );
  });

  it("writes a message without shard bytes as before the field existed", () => {
    const plain = msg({ type: "heartbeat", entries: [] });
    const body = encodeMessages([plain]);
    assert.equal(body[8 + 1 + 72], 0, "no flag set");
    assert.equal(body.length, 8 + encodedMessageSize(plain));
  });

  it("rejects a flag byte with an unknown bit", () => {
    const body = encodeMessages([msg({ type: "heartbeatResp", entries: [] })]);
    // Batch magic and count (8), type (1), nine numbers (72): the flags.
    body[8 + 1 + 72] = 32;
    assert.throws(() => decodeMessages(body), /Expected flags below 32/);
  });

  it("rejects shard bytes on a message that is not a heartbeat or its answer", () => {
    const body = encodeMessages([
      msg({ type: "heartbeat", entries: [], shard: new Uint8Array([1]) }),
    ]);
    body[8] = 5; // appendResp
    assert.throws(
      () => decodeMessages(body),
      /shard bytes only on a heartbeat or its answer, found them on appendResp/,
    );
  });

  it("rejects every truncation of a valid batch", () => {
    const body = encodeMessages([msg(), snapMsg]);
    for (let n = 0; n < body.length; n++) {
      assert.throws(() => decodeMessages(body.subarray(0, n)), CodecError);
    }
  });

  it("rejects trailing bytes and huge counts without allocating", () => {
    const body = encodeMessages([msg()]);
    const longer = new Uint8Array(body.length + 1);
    longer.set(body);
    assert.throws(() => decodeMessages(longer), /trailing bytes/);
    const huge = body.slice();
    new DataView(huge.buffer).setUint32(4, 0xffffffff);
    assert.throws(() => decodeMessages(huge), /count of 4294967295/);
  });

  it("rejects negative, fractional and unknown values", () => {
    const body = encodeMessages([msg()]);
    const view = (b: Uint8Array) => new DataView(b.buffer);
    const neg = body.slice();
    view(neg).setFloat64(9, -3); // "from"
    assert.throws(() => decodeMessages(neg), /from to be a non-negative/);
    const frac = body.slice();
    view(frac).setFloat64(25, 1.5); // "term"
    assert.throws(() => decodeMessages(frac), /term to be a non-negative/);
    const type = body.slice();
    type[8] = 42;
    assert.throws(() => decodeMessages(type), /message type below 12/);
  });
});

describe("HTTP transport endpoint", () => {
  it("delivers a batch in a session opened by a hello", async () => {
    const { t, got, refused } = receiver();
    const c = new Client(t);
    await c.hello();
    const res = await c.send([msg(), msg({ type: "heartbeat", entries: [] })]);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(got, [[msg(), msg({ type: "heartbeat", entries: [] })]]);
    assert.deepEqual(refused, []);
  });

  it("refuses wrong secret, cluster, sender, receiver, kind, paths and methods with a 4xx and a reason, delivering nothing", async () => {
    const { t, got, refused } = receiver();
    const c = new Client(t);
    await c.hello();
    const cases: [string, Request, number, string][] = [
      [
        "secret",
        post(MESSAGES_PATH, c.frame([msg()], { secret: "guess" })),
        401,
        "signature",
      ],
      [
        "cluster",
        post(MESSAGES_PATH, c.frame([msg()], { clusterId: "other" })),
        403,
        "cluster",
      ],
      [
        "unknown sender",
        post(MESSAGES_PATH, c.frame([msg({ from: 7 })], { from: 7 })),
        403,
        "sender",
      ],
      [
        "itself",
        post(MESSAGES_PATH, c.frame([msg({ from: 0 })], { from: 0 })),
        403,
        "sender",
      ],
      [
        "receiver",
        post(MESSAGES_PATH, c.frame([msg({ to: 2 })], { to: 2 })),
        403,
        "receiver",
      ],
      [
        "messages from another node",
        post(MESSAGES_PATH, c.frame([msg({ from: 2 })])),
        400,
        "malformed",
      ],
      [
        "snapshot on messages",
        post(MESSAGES_PATH, c.frame([snapMsg], { kind: "messages" })),
        400,
        "malformed",
      ],
      [
        "messages on snapshot",
        post(SNAPSHOT_PATH, c.frame([msg()], { kind: "snapshot" })),
        400,
        "malformed",
      ],
      [
        "kind against path",
        post(SNAPSHOT_PATH, c.frame([msg()])),
        400,
        "malformed",
      ],
      [
        "two snapshots",
        post(SNAPSHOT_PATH, c.frame([snapMsg, snapMsg])),
        400,
        "malformed",
      ],
      [
        "not a frame",
        post(MESSAGES_PATH, new Uint8Array(100).fill(7)),
        400,
        "malformed",
      ],
      ["empty", post(MESSAGES_PATH, new Uint8Array(0)), 400, "malformed"],
      ["path", post("/raft/v3/other", c.frame([msg()])), 404, "path"],
      [
        "method",
        new Request(`http://127.0.0.1${MESSAGES_PATH}`),
        405,
        "method",
      ],
    ];
    for (const [what, req, status, reason] of cases) {
      const res = await t.handle(req);
      assert.equal(res.status, status, `${what}: ${await res.clone().text()}`);
      assert.equal(res.headers.get("x-raft-refused"), reason, what);
      assert.equal(refused.at(-1)?.reason, reason, what);
    }
    assert.deepEqual(got, []);
  });

  it("refuses a frame of another wire format version with an error naming both versions", async () => {
    const { t, got, refused } = receiver();
    const c = new Client(t);
    await c.hello();
    for (const version of [2, 4]) {
      const frame = c.frame([msg()]);
      new DataView(frame.buffer).setUint16(4, version);
      const res = await t.handle(post(MESSAGES_PATH, frame));
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("x-raft-refused"), "version");
      assert.match(
        await res.text(),
        new RegExp(`version 3, found version ${version}`),
      );
    }
    assert.deepEqual(refused.map((r) => r.reason), ["version", "version"]);
    assert.deepEqual(got, []);
  });

  it("refuses the requests of k8s-operator 0.1.0 with an error naming both wire versions", async () => {
    const { t, got, refused } = receiver();
    const body = encodeMessages([msg()]);
    for (const path of ["/raft/v1/messages", "/raft/v1/snapshot"]) {
      const res = await t.handle(
        new Request(`http://127.0.0.1${path}`, {
          method: "POST",
          body,
          headers: {
            "x-raft-cluster": "c1",
            "x-raft-from": "1",
            "x-raft-to": "0",
            "x-raft-signature": "00".repeat(32),
          },
        }),
      );
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("x-raft-refused"), "version");
      const text = await res.text();
      assert.match(text, /version 3 .*found wire format version 1 .*0\.1\.0/);
      assert.match(text, /from node 1/);
    }
    assert.deepEqual(refused.map((r) => [r.reason, r.peer]), [
      ["version", 1],
      ["version", 1],
    ]);
    assert.deepEqual(got, []);
  });

  it("reads no body byte of a request whose signature fails", async () => {
    // A real sender's requests, to a receiver that has another secret: the
    // body is streamed with 8 MiB more behind the signed part.
    const a = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => url,
      onMessages: () => {},
    });
    const b = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => "http://127.0.0.1:1",
      onMessages: () => arrived(),
    });
    let arrived = () => {};
    const delivered = new Promise<void>((r) => arrived = r);
    const captured = capture(b);
    const url = `http://127.0.0.1:${await b.listen({
      port: 0,
      hostname: "127.0.0.1",
    })}`;
    try {
      a.send([msg({ from: 1, to: 0 })]);
      await delivered;
    } finally {
      await a.close();
      await b.close();
    }
    const { t, got } = receiver({ secret: "another secret, 16+ chars" });
    let pulled = 0;
    const signed = captured.at(-1)!;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ === 0) controller.enqueue(signed.body);
        else if (pulled < 128) controller.enqueue(new Uint8Array(65536));
        else controller.close();
      },
    }, { highWaterMark: 0 });
    const res = await t.handle(replay(signed, stream));
    assert.ok(res.status === 400 || res.status === 401, `${res.status}`);
    assert.equal(pulled, 1, "only the chunk holding the header was read");
    assert.deepEqual(got, []);
  });

  it("refuses a declared body over the route's limit, an unknown session and a busy receiver before reading the body", async () => {
    const { t, got, refused } = receiver({ maxBodyBytes: 1024 });
    const c = new Client(t);
    await c.hello();
    const big = msg({
      entries: [{
        term: 1,
        index: 1,
        type: "normal",
        data: new Uint8Array(2000),
      }],
    });
    const bigSnap = {
      ...snapMsg,
      snapshot: { ...snapMsg.snapshot!, data: new Uint8Array(5000) },
    };
    const stranger = new Client(t, { from: 2 });
    stranger.session = new Uint8Array(16).fill(1);
    const cases: [Uint8Array, string, number, string][] = [
      [c.frame([big]), MESSAGES_PATH, 413, "too-large"],
      [c.frame([bigSnap]), SNAPSHOT_PATH, 413, "too-large"],
      [stranger.frame([msg({ from: 2 })]), MESSAGES_PATH, 409, "session"],
    ];
    for (const [frame, path, status, reason] of cases) {
      const body = heldBody(frame);
      const res = await t.handle(post(path, body.stream));
      assert.equal(res.status, status, await res.clone().text());
      assert.equal(res.headers.get("x-raft-refused"), reason);
      assert.equal(body.pulled(), 1, `${reason}: no body byte read`);
    }
    assert.deepEqual(refused.map((r) => r.reason), [
      "too-large",
      "too-large",
      "session",
    ]);
    assert.deepEqual(got, []);
  });

  it("bounds the bodies read at once, per peer and overall, refusing one more with 503 before reading it", async () => {
    const { t, got } = receiver({
      maxConcurrentBodies: 3,
      maxConcurrentBodiesPerPeer: 2,
    });
    const one = new Client(t, { from: 1 });
    const two = new Client(t, { from: 2 });
    await one.hello();
    await two.hello();
    /** A request whose body stops after the header until `finish()`. */
    const slow = (c: Client, m: Message) => {
      const body = heldBody(c.frame([m]));
      const path = m.type === "snapshot" ? SNAPSHOT_PATH : MESSAGES_PATH;
      return {
        response: t.handle(post(path, body.stream)),
        finish: body.release,
        reading: body.reading,
        pulled: body.pulled,
      };
    };
    const a1 = slow(one, msg({ index: 1 }));
    const a2 = slow(one, msg({ index: 2 }));
    await Promise.all([a1.reading, a2.reading]);
    const a3 = slow(one, msg({ index: 3 }));
    const refusedPerPeer = await a3.response;
    assert.equal(refusedPerPeer.status, 503);
    assert.equal(refusedPerPeer.headers.get("x-raft-refused"), "busy");
    assert.equal(a3.pulled(), 1, "its body was not read");
    const b1 = slow(two, msg({ from: 2, index: 4 }));
    await b1.reading;
    const b2 = slow(two, msg({ from: 2, index: 5 }));
    const refusedOverall = await b2.response;
    assert.equal(refusedOverall.status, 503);
    assert.match(await refusedOverall.text(), /at most 3 bodies/);
    for (const r of [a1, a2, b1]) r.finish();
    for (const r of [a1, a2, b1]) assert.equal((await r.response).status, 200);
    // Slots are free again; the refused frames' numbers were not used up.
    assert.equal((await one.send([msg({ index: 6 })])).status, 200);
    assert.deepEqual(got.map((b) => b[0].index).sort(), [1, 2, 4, 6]);
  });

  it("reads one snapshot body at a time", async () => {
    const { t } = receiver();
    const c = new Client(t);
    await c.hello();
    const body = heldBody(c.frame([snapMsg]));
    const first = t.handle(post(SNAPSHOT_PATH, body.stream));
    await body.reading;
    const second = await c.send([snapMsg]);
    assert.equal(second.status, 503);
    assert.match(await second.text(), /one snapshot body at a time/);
    body.release();
    assert.equal((await first).status, 204);
  });

  it("refuses a snapshot longer than declared, and a frame cut short or whose MAC fails, delivering nothing", async () => {
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    const longer = (() => {
      const f = c.frame([snapMsg]);
      const out = new Uint8Array(f.length + 10);
      out.set(f);
      return out;
    })();
    const short = c.frame([msg()]).subarray(0, 150);
    const flipped = c.frame([msg()]);
    flipped[140] ^= 1;
    const cases: [Uint8Array, string, number, string][] = [
      [longer, SNAPSHOT_PATH, 413, "too-large"],
      [short, MESSAGES_PATH, 400, "malformed"],
      [flipped, MESSAGES_PATH, 401, "signature"],
    ];
    for (const [frame, path, status, reason] of cases) {
      const res = await t.handle(post(path, frame));
      assert.equal(res.status, status, await res.clone().text());
      assert.equal(res.headers.get("x-raft-refused"), reason);
    }
    assert.deepEqual(got, []);
  });

  it("on a stream, delivers each frame that verifies, in order, and ends the stream at the first that does not, reporting why", async () => {
    const { t, got, refused } = receiver();
    const c = new Client(t);
    await c.hello();
    const good = [1, 2, 3].map((i) => c.frame([msg({ index: i })]));
    const flipped = c.frame([msg({ index: 4 })]);
    flipped[140] ^= 1;
    const after = c.frame([msg({ index: 5 })]);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const f of [...good, flipped, after]) controller.enqueue(f);
        controller.close();
      },
    });
    const res = await t.handle(post(MESSAGES_PATH, stream));
    assert.equal(res.status, 200, "the first frame was accepted");
    await res.arrayBuffer(); // the answer ends with the stream
    assert.deepEqual(got.map((b) => b[0].index), [1, 2, 3]);
    assert.deepEqual(refused.map((r) => r.reason), ["signature"]);
    // Trailing bytes that are no frame end it the same way.
    const more = c.frame([msg({ index: 6 })]);
    const trailing = new Uint8Array(more.length + 10);
    trailing.set(more);
    const res2 = await t.handle(post(MESSAGES_PATH, trailing));
    assert.equal(res2.status, 200);
    await res2.arrayBuffer();
    assert.deepEqual(got.map((b) => b[0].index), [1, 2, 3, 6]);
    assert.deepEqual(refused.map((r) => r.reason), ["signature", "malformed"]);
  });

  it("answers a body broken off by its sender with 400, freeing its slot and its number", async () => {
    const { t, got, refused } = receiver({ maxConcurrentBodiesPerPeer: 1 });
    const c = new Client(t);
    await c.hello();
    const frame = c.frame([msg()]);
    let step = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (step++ === 0) controller.enqueue(frame.subarray(0, 110));
        else controller.error(new Error("connection reset by peer"));
      },
    }, { highWaterMark: 0 });
    const res = await t.handle(post(MESSAGES_PATH, broken));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /broken off: connection reset/);
    assert.equal(refused.at(-1)?.reason, "malformed");
    assert.equal((await t.handle(post(MESSAGES_PATH, frame))).status, 200);
    assert.equal(got.length, 1);
  });

  it("answers random and mutated frames with 4xx and never delivers a partial batch", async () => {
    const random = seeded(1234);
    const { t, got } = receiver();
    const c = new Client(t);
    await c.hello();
    const batch = [msg(), msg({ type: "heartbeat", entries: [] })];
    for (let i = 0; i < 2000; i++) {
      let body: Uint8Array;
      if (i % 4 === 0) {
        body = new Uint8Array(below(random, 200));
        for (let j = 0; j < body.length; j++) body[j] = below(random, 256);
      } else {
        body = c.frame(batch);
        for (let k = 1 + below(random, 4); k > 0; k--) {
          body[below(random, body.length)] ^= 1 + below(random, 255);
        }
        if (i % 3 === 0) body = body.subarray(0, below(random, body.length));
      }
      const res = await t.handle(post(MESSAGES_PATH, body));
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    }
    assert.deepEqual(got, []);
    // Frames made honestly still go through.
    assert.equal((await c.send(batch)).status, 200);
    assert.deepEqual(got, [batch]);
  });
});

describe("HTTP transport in front of a RaftNode", () => {
  it("leaves the node's term, vote and log untouched by refused requests, and only a signed one moves it", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    class Durable extends MemoryStorage {
      override readonly durable: boolean = true;
    }
    const sent: Message[] = [];
    const node = await RaftNode.start({
      id: 0,
      storage: new Durable(),
      bootstrap: { voters: [0, 1, 2], learners: [] },
      stateMachine: new KeyValueStore(),
      send: (ms) => sent.push(...ms),
      clock: () => 0,
    });
    const { t } = receiver({
      onMessages: (ms) => node.receive(ms),
      maxBodyBytes: 4096,
    });
    const settle = async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
    };
    try {
      const vote = (from: number): Message =>
        msg({
          type: "vote",
          from,
          to: 0,
          term: 9,
          logTerm: 0,
          index: 0,
          commit: 0,
          entries: [],
          incarnation: 5,
          toIncarnation: node.status().incarnation,
        });
      const c = new Client(t);
      await c.hello();
      const random = seeded(77);
      const honest = c.frame([vote(1)]);
      const hostile: Request[] = [
        post(MESSAGES_PATH, c.frame([vote(1)], { secret: "guess" })),
        post(MESSAGES_PATH, c.frame([vote(1)], { clusterId: "other" })),
        post(MESSAGES_PATH, c.frame([vote(7)], { from: 7 })),
        post(MESSAGES_PATH, c.frame([vote(1)], { session: ZERO_ID })),
        post(
          MESSAGES_PATH,
          encodeFrame({
            kind: "messages",
            clusterId: "c1",
            from: 1,
            to: 0,
            session: c.session,
            seq: 1000,
            nonce: ZERO_ID,
          }, {
            bytes: encodeMessages([vote(1)]).subarray(0, 30),
            secret: SECRET,
          }),
        ), // signed, but does not decode
        post(
          MESSAGES_PATH,
          c.frame([{
            ...vote(1),
            entries: [{
              term: 9,
              index: 1,
              type: "normal",
              data: new Uint8Array(5000),
            }],
          }]),
        ), // over maxBodyBytes
      ];
      for (let i = 0; i < 200; i++) {
        const bytes = honest.slice();
        bytes[below(random, bytes.length)] ^= 1 + below(random, 255);
        hostile.push(post(MESSAGES_PATH, bytes));
      }
      const before = node.status();
      for (const req of hostile) {
        const res = await t.handle(req);
        assert.ok(res.status >= 400 && res.status < 500, `${res.status}`);
        await settle();
      }
      const after = node.status();
      assert.deepEqual(
        [after.term, after.vote, after.lastIndex, after.commit],
        [before.term, before.vote, before.lastIndex, before.commit],
      );
      assert.deepEqual(sent, [], "the node answered nothing");
      // The same vote, correctly signed, reaches the node and moves its term.
      assert.equal((await t.handle(post(MESSAGES_PATH, honest))).status, 200);
      await settle();
      assert.equal(node.status().term, 9);
    } finally {
      await node.stop({ transfer: false });
      mock.timers.reset();
    }
  });
});

describe("HTTP transport facing another wire version", () => {
  it("reports a peer of k8s-operator 0.1.0 (404 on the hello) with an error naming both versions", async () => {
    const old = await serve(
      () => new Response("Unknown path", { status: 404 }),
      { port: 0, hostname: "127.0.0.1" },
    );
    let failed: (e: unknown) => void = () => {};
    const error = new Promise<unknown>((r) => failed = r);
    const a = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: SECRET,
      peerUrl: () => `http://127.0.0.1:${old.port}`,
      onMessages: () => {},
      onSendError: (_peer, e) => failed(e),
    });
    try {
      a.send([msg({ from: 0, to: 1 })]);
      const e = await error as TransportError;
      assert.equal(e.reason, "version");
      assert.match(
        e.message,
        /version 3 \(POST \/raft\/v3\/hello\), found 404/,
      );
      assert.match(e.message, /wire format version 1/);
    } finally {
      await a.close();
      await old.shutdown();
    }
  });
});

/** A URL on a closed port: connecting is refused, as at a restarted peer's old address. */
async function closedUrl(): Promise<string> {
  const gone = new HttpTransport({
    id: 9,
    clusterId: "c1",
    secret: "secret",
    peerUrl: () => undefined,
    onMessages: () => {},
  });
  const port = await gone.listen({ port: 0, hostname: "127.0.0.1" });
  await gone.close();
  return `http://127.0.0.1:${port}`;
}

/** Node 1 listening on loopback; `marker` resolves when index `until` arrives. */
async function listeningPeer(until: number): Promise<
  { b: HttpTransport; fresh: string; got: Message[]; marker: Promise<void> }
> {
  const got: Message[] = [];
  let arrived: () => void = () => {};
  const marker = new Promise<void>((r) => arrived = r);
  const b = new HttpTransport({
    id: 1,
    clusterId: "c1",
    secret: "secret",
    peerUrl: () => "http://127.0.0.1:1",
    onMessages: (ms) => {
      got.push(...ms);
      if (ms.some((m) => m.index === until)) arrived();
    },
  });
  const port = await b.listen({ port: 0, hostname: "127.0.0.1" });
  return { b, fresh: `http://127.0.0.1:${port}`, got, marker };
}

describe("HTTP transport between two nodes on loopback", () => {
  it("batches queued messages and delivers them in order, a snapshot on its own request", async () => {
    const got: Message[] = [];
    let resolveAll: () => void = () => {};
    const all = new Promise<void>((r) => resolveAll = r);
    const urls = new Map<number, string>();
    const a = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: "secret",
      peerUrl: (id) => urls.get(id),
      onMessages: () => {},
    });
    let requests = 0;
    const b = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: "secret",
      peerUrl: (id) => urls.get(id),
      onMessages: (ms) => {
        requests++;
        got.push(...ms);
        if (got.length === 201) resolveAll();
      },
    });
    urls.set(
      0,
      `http://127.0.0.1:${await a.listen({ port: 0, hostname: "127.0.0.1" })}`,
    );
    urls.set(
      1,
      `http://127.0.0.1:${await b.listen({ port: 0, hostname: "127.0.0.1" })}`,
    );
    try {
      for (let i = 0; i < 200; i++) {
        a.send([msg({ from: 0, to: 1, index: i, entries: [] })]);
      }
      a.send([{ ...snapMsg, from: 0, to: 1 }]);
      const deadline = setTimeout(() => resolveAll(), 5000);
      await all;
      clearTimeout(deadline);
      assert.equal(got.length, 201);
      assert.deepEqual(
        got.filter((m) => m.type === "append").map((m) => m.index),
        [...Array(200).keys()],
      );
      assert.equal(got.filter((m) => m.type === "snapshot").length, 1);
      assert.ok(
        requests < 201,
        `expected batching, found ${requests} requests`,
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("resends a batch once, at once, when its request fails before any answer (a peer restarted elsewhere)", async () => {
    const stale = await closedUrl();
    const { b, fresh, got, marker } = await listeningPeer(99);
    let url = stale;
    const errors: unknown[] = [];
    let failed: () => void = () => {};
    const firstFailure = new Promise<void>((r) => failed = r);
    const a = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: "secret",
      peerUrl: () => url,
      onMessages: () => {},
      onSendError: (_peer, error) => {
        errors.push(error);
        url = fresh; // what discovery does: look the peer up again
        failed();
      },
    });
    try {
      const vote = msg({
        type: "voteResp",
        from: 0,
        to: 1,
        index: 0,
        entries: [],
      });
      a.send([vote]);
      await firstFailure;
      a.send([msg({ from: 0, to: 1, index: 99, entries: [] })]);
      await marker;
      assert.equal(errors.length, 1);
      assert.deepEqual(got.map((m) => [m.type, m.index]), [
        ["voteResp", 0],
        ["append", 99],
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("does not resend a batch the peer refused with a 4xx", async () => {
    let requests = 0;
    const b = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: "another secret",
      peerUrl: () => "http://127.0.0.1:1",
      onMessages: () => {},
    });
    const inner = b.handle.bind(b);
    const server = new HttpTransport({
      id: 1,
      clusterId: "c1",
      secret: "unused",
      peerUrl: () => undefined,
      onMessages: () => {},
    });
    // Count every request that reaches the peer, then let it refuse (401).
    server.handle = (req: Request) => {
      requests++;
      return inner(req);
    };
    const port = await server.listen({ port: 0, hostname: "127.0.0.1" });
    const statuses: number[] = [];
    let second: () => void = () => {};
    const twoErrors = new Promise<void>((r) => second = r);
    const a = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: "secret",
      retryDelayMs: 0,
      peerUrl: () => `http://127.0.0.1:${port}`,
      onMessages: () => {},
      onSendError: (_peer, error) => {
        statuses.push((error as TransportError).status);
        if (statuses.length === 1) {
          a.send([msg({ from: 0, to: 1, index: 2, entries: [] })]);
        } else second();
      },
    });
    try {
      a.send([msg({ from: 0, to: 1, index: 1, entries: [] })]);
      await twoErrors;
      assert.deepEqual(statuses, [401, 401]);
      assert.equal(requests, 2, "each refused batch was sent exactly once");
    } finally {
      await a.close();
      await server.close();
    }
  });

  it("drops a batch whose resend fails too, and goes on with the next", async () => {
    const stale = await closedUrl();
    const { b, fresh, got, marker } = await listeningPeer(2);
    let url = stale;
    let errors = 0;
    let twice: () => void = () => {};
    const failedTwice = new Promise<void>((r) => twice = r);
    const a = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: "secret",
      retryDelayMs: 0,
      peerUrl: () => url,
      onMessages: () => {},
      onSendError: () => {
        if (++errors === 2) twice();
      },
    });
    try {
      a.send([msg({ from: 0, to: 1, index: 1, entries: [] })]);
      await failedTwice;
      url = fresh;
      a.send([msg({ from: 0, to: 1, index: 2, entries: [] })]);
      await marker;
      assert.equal(errors, 2);
      assert.deepEqual(got.map((m) => m.index), [2]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
