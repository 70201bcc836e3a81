import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  CodecError,
  decodeMessages,
  encodeMessages,
} from "../../raft/_codec.ts";
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
import { below, seeded } from "./_random.ts";

function msg(over: Partial<Message> = {}): Message {
  return {
    type: "append",
    from: 1,
    to: 0,
    term: 3,
    logTerm: 2,
    index: 7,
    commit: 6,
    entries: [
      { term: 3, index: 8, type: "normal", data: new Uint8Array([1, 2, 3]) },
      { term: 3, index: 9, type: "empty", data: new Uint8Array() },
    ],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    ...over,
  };
}

const snapMsg = msg({
  type: "snapshot",
  entries: [],
  snapshot: {
    metadata: {
      index: 40,
      term: 3,
      conf: { voters: [0, 1, 2], learners: [3] },
    },
    data: new Uint8Array([9, 9, 9]),
  },
});

function sign(parts: {
  cluster: string;
  from: string;
  to: string;
  body: Uint8Array;
  secret?: string;
}): string {
  const h = createHmac("sha256", parts.secret ?? "secret");
  h.update(`${parts.cluster}\n${parts.from}\n${parts.to}\n`);
  h.update(parts.body);
  return h.digest("hex");
}

function request(body: Uint8Array, over: {
  cluster?: string;
  from?: string;
  to?: string;
  secret?: string;
  path?: string;
  method?: string;
  signature?: string;
} = {}): Request {
  const cluster = over.cluster ?? "c1";
  const from = over.from ?? "1";
  const to = over.to ?? "0";
  return new Request(`http://127.0.0.1${over.path ?? MESSAGES_PATH}`, {
    method: over.method ?? "POST",
    body: over.method === "GET" ? undefined : body as Uint8Array<ArrayBuffer>,
    headers: {
      "x-raft-cluster": cluster,
      "x-raft-from": from,
      "x-raft-to": to,
      "x-raft-signature": over.signature ??
        sign({ cluster, from, to, body, secret: over.secret }),
    },
  });
}

function receiver(maxBodyBytes = 1 << 20) {
  const got: Message[][] = [];
  const t = new HttpTransport({
    id: 0,
    clusterId: "c1",
    secret: "secret",
    peerUrl: (id) => id === 1 || id === 2 ? `http://peer${id}` : undefined,
    onMessages: (m) => got.push(m),
    maxBodyBytes,
    maxSnapshotBytes: 4096,
  });
  return { t, got };
}

describe("message codec", () => {
  it("round-trips every field of every message kind", () => {
    const batch = [
      msg(),
      msg({ type: "voteResp", reject: true, entries: [], rejectHint: 5 }),
      msg({ type: "vote", entries: [], transfer: true }),
      msg({ type: "heartbeatResp", entries: [], healthy: true }),
      snapMsg,
    ];
    assert.deepEqual(decodeMessages(encodeMessages(batch)), batch);
  });

  it("rejects a flag byte with an unknown bit", () => {
    const body = encodeMessages([msg({ type: "heartbeatResp", entries: [] })]);
    // Batch magic and count (8), type (1), seven numbers (56): the flags.
    body[8 + 1 + 56] = 8;
    assert.throws(() => decodeMessages(body), /Expected flags below 8/);
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
    assert.throws(() => decodeMessages(type), /message type below 10/);
  });
});

describe("HTTP transport endpoint", () => {
  it("delivers a correctly signed batch", async () => {
    const { t, got } = receiver();
    const body = encodeMessages([msg()]);
    const res = await t.handle(request(body));
    assert.equal(res.status, 204);
    assert.deepEqual(got, [[msg()]]);
  });

  it("refuses wrong secret, cluster, sender, receiver and paths with 4xx", async () => {
    const { t, got } = receiver();
    const body = encodeMessages([msg()]);
    const cases: [Request, number][] = [
      [request(body, { secret: "guess" }), 401],
      [request(body, { cluster: "other" }), 403],
      [request(encodeMessages([msg({ from: 7 })]), { from: "7" }), 403],
      [request(encodeMessages([msg({ to: 2 })]), { to: "2" }), 403],
      [request(body, { from: "2" }), 400],
      [request(body, { signature: "zz" }), 400],
      [request(body, { path: "/raft/v1/other" }), 404],
      [request(body, { method: "GET" }), 405],
      [request(encodeMessages([snapMsg])), 400],
      [request(encodeMessages([msg()]), { path: SNAPSHOT_PATH }), 400],
    ];
    for (const [req, status] of cases) {
      const res = await req.clone().text().then(() => t.handle(req));
      assert.equal(res.status, status, `${req.url} ${status}`);
    }
    assert.deepEqual(got, []);
  });

  it("refuses an oversized body with 413 and delivers nothing", async () => {
    const { t, got } = receiver(256);
    const big = msg({
      entries: [{
        term: 1,
        index: 1,
        type: "normal",
        data: new Uint8Array(300),
      }],
    });
    const res = await t.handle(request(encodeMessages([big])));
    assert.equal(res.status, 413);
    const snap = await t.handle(
      request(
        encodeMessages([{
          ...snapMsg,
          snapshot: { ...snapMsg.snapshot!, data: new Uint8Array(5000) },
        }]),
        { path: SNAPSHOT_PATH },
      ),
    );
    assert.equal(snap.status, 413);
    assert.deepEqual(got, []);
  });

  it("answers random and mutated bodies with 4xx and never delivers a partial batch", async () => {
    const random = seeded(1234);
    const { t, got } = receiver();
    const valid = encodeMessages([
      msg(),
      msg({ type: "heartbeat", entries: [] }),
    ]);
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      let body: Uint8Array;
      if (i % 4 === 0) {
        body = new Uint8Array(below(random, 200));
        for (let j = 0; j < body.length; j++) body[j] = below(random, 256);
      } else {
        body = valid.slice();
        for (let k = 1 + below(random, 4); k > 0; k--) {
          body[below(random, body.length)] = below(random, 256);
        }
        if (i % 3 === 0) body = body.subarray(0, below(random, body.length));
      }
      const before = got.length;
      const res = await t.handle(request(body));
      if (res.status === 204) {
        accepted++;
        const decoded = decodeMessages(body);
        assert.deepEqual(got.at(-1), decoded);
        for (const m of decoded) {
          assert.equal(m.from, 1);
          assert.equal(m.to, 0);
        }
      } else {
        assert.ok(
          res.status >= 400 && res.status < 500,
          `status ${res.status}`,
        );
        assert.equal(got.length, before);
      }
      // A mutated body under the original signature is refused outright.
      const forged = await t.handle(
        request(body, {
          signature: sign({ cluster: "c1", from: "1", to: "0", body: valid }),
        }),
      );
      if (body.length !== valid.length || body.some((b, j) => b !== valid[j])) {
        assert.equal(forged.status, 401);
      }
    }
    assert.ok(accepted < 2000);
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
    const t = new HttpTransport({
      id: 0,
      clusterId: "c1",
      secret: "secret",
      peerUrl: (id) => id === 1 || id === 2 ? `http://peer${id}` : undefined,
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
        });
      const body = encodeMessages([vote(1)]);
      const random = seeded(77);
      const hostile: Request[] = [
        request(body, { secret: "guess" }),
        request(body, { cluster: "other" }),
        request(encodeMessages([vote(7)]), { from: "7" }),
        request(body, { signature: "00".repeat(32) }),
        request(body.subarray(0, 30)), // signed, but does not decode
        request(encodeMessages([{
          ...vote(1),
          entries: [{
            term: 9,
            index: 1,
            type: "normal",
            data: new Uint8Array(5000),
          }],
        }])), // over maxBodyBytes
      ];
      for (let i = 0; i < 200; i++) {
        const bytes = body.slice();
        bytes[below(random, bytes.length)] ^= 1 + below(random, 255);
        hostile.push(request(bytes, {
          signature: sign({ cluster: "c1", from: "1", to: "0", body }),
        }));
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
      assert.equal((await t.handle(request(body))).status, 204);
      await settle();
      assert.equal(node.status().term, 9);
    } finally {
      await node.stop({ transfer: false });
      mock.timers.reset();
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
  it("batches queued messages and delivers them in order", async () => {
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
      assert.deepEqual(got.slice(0, 200).map((m) => m.index), [
        ...Array(200).keys(),
      ]);
      assert.equal(got[200].type, "snapshot");
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
