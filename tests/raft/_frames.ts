/**
 * Helpers for the transport tests: messages of every type, a receiving
 * transport driven through `handle`, a hand-driven sender that speaks wire
 * format 3 (hello, then frames it numbers itself, each frame a request or
 * several on one stream), and requests captured from real traffic for
 * replaying.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  encodeFrame,
  type FrameHeader,
  readBody,
  readHeader,
  StreamBytes,
  ZERO_ID,
} from "../../raft/_frame.ts";
import { encodeMessages } from "../../raft/_codec.ts";
import {
  HELLO_PATH,
  HttpTransport,
  type HttpTransportOptions,
  MESSAGES_PATH,
  SNAPSHOT_PATH,
  type TransportRefusal,
} from "../../raft/transport.ts";
import type { Message, MessageType } from "../../raft/types.ts";

/** The secret the test clusters share. */
export const SECRET = "test-secret-0123456789";

/** A message; `append` with two entries unless overridden. */
export function msg(over: Partial<Message> = {}): Message {
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

/** A snapshot message from node 1 to node 0. */
export const snapMsg: Message = msg({
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

/** One message of `type` from `from` to `to`, shaped as the core sends it. */
export function messageOf(
  type: MessageType,
  route: { from: number; to: number },
): Message {
  const base = { ...route, entries: [] as Message["entries"] };
  switch (type) {
    case "append":
      return msg({ ...route });
    case "snapshot":
      return { ...snapMsg, ...route };
    case "timeoutNow":
      return msg({ ...base, type, index: 0, commit: 0, logTerm: 0 });
    case "vote":
    case "preVote":
      return msg({ ...base, type, term: 9, logTerm: 2, index: 7, commit: 0 });
    default:
      return msg({ ...base, type });
  }
}

/** Every message type. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  "preVote",
  "preVoteResp",
  "vote",
  "voteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
];

/** A transport as node 0 of cluster `c1` (peers 1 and 2), with what it delivered and refused. */
export function receiver(over: Partial<HttpTransportOptions> = {}) {
  const got: Message[][] = [];
  const refused: TransportRefusal[] = [];
  const t = new HttpTransport({
    id: 0,
    clusterId: "c1",
    secret: SECRET,
    peerUrl: (id) => id === 1 || id === 2 ? `http://peer${id}` : undefined,
    onMessages: (m) => got.push(m),
    onRefused: (r) => refused.push(r),
    maxSnapshotBytes: 4096,
    ...over,
  });
  return { t, got, refused };
}

/** A POST of `body` (bytes or a stream) to `path`, as `handle` receives it. */
export function post(
  path: string,
  body: Uint8Array | ReadableStream<Uint8Array>,
): Request {
  const init: Record<string, unknown> = {
    method: "POST",
    body,
    duplex: "half",
  };
  return new Request(`http://127.0.0.1${path}`, init as RequestInit);
}

/**
 * A sender speaking wire format 3 by hand to `transport.handle`: node
 * `from` of cluster `cluster`, signing with `secret`.
 */
export class Client {
  readonly transport: HttpTransport;
  readonly from: number;
  readonly to: number;
  readonly cluster: string;
  readonly secret: string;
  session: Uint8Array = ZERO_ID;
  seq = 0;

  constructor(
    transport: HttpTransport,
    over: { from?: number; to?: number; cluster?: string; secret?: string } =
      {},
  ) {
    this.transport = transport;
    this.from = over.from ?? 1;
    this.to = over.to ?? 0;
    this.cluster = over.cluster ?? "c1";
    this.secret = over.secret ?? SECRET;
  }

  /** The hello frame with `nonce`. */
  helloFrame(nonce: Uint8Array): Uint8Array<ArrayBuffer> {
    return encodeFrame({
      kind: "hello",
      clusterId: this.cluster,
      from: this.from,
      to: this.to,
      session: ZERO_ID,
      seq: 0,
      nonce,
    }, { bytes: new Uint8Array(0), secret: this.secret });
  }

  /** Opens a session (asserting the welcome verifies with `accept`). */
  async hello(accept: readonly string[] = [this.secret]): Promise<void> {
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const res = await this.transport.handle(
      post(HELLO_PATH, this.helloFrame(nonce)),
    );
    assert.equal(res.status, 200, await res.clone().text());
    const bytes = new StreamBytes(res.body);
    const verified = await readHeader(bytes, accept);
    await readBody(bytes, verified);
    assert.equal(verified.header.kind, "welcome");
    assert.deepEqual(verified.header.nonce, nonce);
    this.session = verified.header.session;
    this.seq = 0;
  }

  /** A frame of `messages` in the session, numbered next unless `over` says. */
  frame(
    messages: readonly Message[],
    over: Partial<Omit<FrameHeader, "bodyLength">> & { secret?: string } = {},
  ): Uint8Array<ArrayBuffer> {
    const snapshot = messages[0]?.type === "snapshot";
    return encodeFrame({
      kind: snapshot ? "snapshot" : "messages",
      clusterId: this.cluster,
      from: this.from,
      to: this.to,
      session: this.session,
      seq: over.seq ?? ++this.seq,
      nonce: ZERO_ID,
      ...over,
    }, {
      bytes: encodeMessages(messages),
      secret: over.secret ?? this.secret,
    });
  }

  /** Sends `messages` in one frame to their endpoint. */
  send(messages: readonly Message[]): Promise<Response> {
    const path = messages[0]?.type === "snapshot"
      ? SNAPSHOT_PATH
      : MESSAGES_PATH;
    return this.transport.handle(post(path, this.frame(messages)));
  }
}

/** What {@linkcode heldBody} returns. */
export interface HeldBody {
  stream: ReadableStream<Uint8Array>;
  release: () => void;
  reading: Promise<void>;
  pulled: () => number;
}

/**
 * A request body that hands out `frame`'s header (with its MAC), then holds
 * the rest until `release()`: `reading` resolves once the receiver asks for
 * a byte past the header, and `pulled()` counts the chunks it asked for.
 */
export function heldBody(frame: Uint8Array): HeldBody {
  let release = () => {};
  const held = new Promise<void>((r) => release = r);
  let reached = () => {};
  const reading = new Promise<void>((r) => reached = r);
  const header = 100 + frame[7];
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      pulled++;
      if (pulled === 1) {
        controller.enqueue(frame.subarray(0, header));
        return;
      }
      reached();
      await held;
      controller.enqueue(frame.subarray(header));
      controller.close();
    },
  }, { highWaterMark: 0 });
  return { stream, release, reading, pulled: () => pulled };
}

/** A request as it crossed the wire, to be replayed. */
export interface Captured {
  url: string;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * Wraps `transport.handle` to keep a copy of every request it gets: its
 * body as far as the receiver read it (a stream is captured as it flows).
 */
export function capture(transport: HttpTransport): Captured[] {
  const captured: Captured[] = [];
  const inner = transport.handle.bind(transport);
  transport.handle = (req: Request) => {
    const entry: Captured = {
      url: req.url,
      headers: [...req.headers],
      body: new Uint8Array(0),
    };
    captured.push(entry);
    if (req.body === null) return inner(req);
    const reader = req.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        const next = new Uint8Array(entry.body.length + value.length);
        next.set(entry.body);
        next.set(value, entry.body.length);
        entry.body = next;
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    const init: Record<string, unknown> = {
      method: req.method,
      headers: req.headers,
      body,
      duplex: "half",
    };
    return inner(new Request(req.url, init as RequestInit));
  };
  return captured;
}

/** A captured request as a new `Request`, with the body given (default: as captured). */
export function replay(
  c: Captured,
  body: Uint8Array | ReadableStream<Uint8Array> = c.body,
): Request {
  const init: Record<string, unknown> = {
    method: "POST",
    headers: c.headers,
    body,
    duplex: "half",
  };
  return new Request(c.url, init as RequestInit);
}

/**
 * Waits for conditions that change when events arrive: call
 * {@linkcode Events.notify} from the callbacks that report them.
 */
export class Events {
  readonly #waiting = new Set<() => void>();

  /** Re-checks every pending {@linkcode Events.until}. */
  notify(): void {
    for (const check of [...this.#waiting]) check();
  }

  /** Resolves once `check()` holds; rejects after `ms` (a deadline, not a pause). */
  until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(test);
        reject(new Error(`Expected ${what} within ${ms} ms, found it not yet`));
      }, ms);
      const test = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiting.delete(test);
        resolve();
      };
      this.#waiting.add(test);
    });
  }
}
