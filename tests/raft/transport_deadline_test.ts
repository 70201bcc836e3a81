/**
 * The deadline for reading a request's body (`bodyTimeoutMs`): a peer that
 * sends the HTTP headers and part of a frame, then stalls or trickles the
 * rest over a real socket, holds its body slot only until the deadline; it
 * is then answered 408 (`timeout`), reported once with its id, and the
 * other peers' messages get through again. Before the deadline existed,
 * such a request held its slot for as long as the socket stayed open.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { MESSAGES_PATH } from "../../raft/transport.ts";
import type { HttpTransport, TransportRefusal } from "../../raft/transport.ts";
import type { Message } from "../../raft/types.ts";
import { Client, msg, receiver } from "./_frames.ts";

const BODY_TIMEOUT_MS = 300;

/** Resolves with the first value `check` finds, or rejects after 10 s saying what. */
function waitFor<T>(
  what: string,
  check: () => T | undefined,
  wake: Set<() => void>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (value: T) => {
      clearTimeout(timer);
      wake.delete(poke);
      resolve(value);
    };
    const poke = () => {
      const value = check();
      if (value !== undefined) done(value);
    };
    // Only bounds the wait; the event is awaited, not slept for.
    const timer = setTimeout(() => {
      wake.delete(poke);
      reject(new Error(`Expected ${what} within 10 s`));
    }, 10_000);
    wake.add(poke);
    poke();
  });
}

/** A raw HTTP/1.1 POST of `frame` to `port` that sends only `options.sent` bytes of it. */
function partialPost(
  port: number,
  frame: Uint8Array,
  options: { sent: number; onData: () => void },
) {
  const socket: Socket = connect(port, "127.0.0.1");
  let answer = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => {
    answer += chunk;
    options.onData();
  });
  socket.on("error", () => {});
  socket.write(
    `POST ${MESSAGES_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Content-Type: application/octet-stream\r\n` +
      `Content-Length: ${frame.length}\r\n\r\n`,
  );
  socket.write(frame.subarray(0, options.sent));
  return { socket, answer: () => answer };
}

describe("HTTP transport: the deadline for a request body", () => {
  let t: HttpTransport;
  let port: number;
  const got: Message[][] = [];
  const refused: TransportRefusal[] = [];
  const wake = new Set<() => void>();
  const woken = () => {
    for (const poke of [...wake]) poke();
  };
  let one: Client;
  let two: Client;

  before(async () => {
    ({ t } = receiver({
      bodyTimeoutMs: BODY_TIMEOUT_MS,
      // One slot in all: a stalled body blocks every peer while it holds it.
      maxConcurrentBodies: 1,
      onMessages: (m) => {
        got.push(m);
        woken();
      },
      onRefused: (r) => {
        refused.push(r);
        woken();
      },
    }));
    port = await t.listen({ port: 0, hostname: "127.0.0.1" });
    one = new Client(t, { from: 1 });
    two = new Client(t, { from: 2 });
    await one.hello();
    await two.hello();
  });

  after(async () => {
    await t.close();
  });

  /** Node 2 sends one append over HTTP; resolves with the status. */
  async function sendFromTwo(index: number): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}${MESSAGES_PATH}`, {
      method: "POST",
      body: two.frame([msg({ from: 2, index })]),
      headers: { "content-type": "application/octet-stream" },
    });
    await response.body?.cancel();
    return response.status;
  }

  for (const kind of ["stalls", "trickles"] as const) {
    it(`frees the slot of a peer that ${kind} its body, answers it 408 and lets other peers through`, async () => {
      const frame = one.frame([msg({ index: 100 })]);
      const startedAt = performance.now();
      const stalled = partialPost(port, frame, {
        sent: frame.length - 20,
        onData: woken,
      });
      let trickled = 0;
      const trickle = kind === "trickles"
        ? setInterval(() => {
          // One byte every 20 ms: always arriving, never done in time.
          if (trickled < 19) {
            const at = frame.length - 20 + trickled;
            stalled.socket.write(frame.subarray(at, at + 1));
            trickled++;
          }
        }, 20)
        : undefined;
      try {
        const before = refused.length;
        // The stalled request holds the only slot: node 2 is refused busy.
        // (Its sends may go through until the stalled request has taken
        // the slot; the deadline only bounds the wait.)
        const deadline = performance.now() + 10_000;
        let status = 0;
        for (let index = 1; status !== 503; index++) {
          assert.ok(performance.now() < deadline, "node 2 never refused");
          assert.ok(
            !refused.some((r, i) => i >= before && r.peer === 1),
            "the stalled request was refused before it took the slot",
          );
          status = await sendFromTwo(index);
        }
        assert.equal(refused.at(-1)?.reason, "busy");
        assert.equal(refused.at(-1)?.peer, 2);
        const timeout = await waitFor(
          "the stalled request refused by the deadline",
          () => refused.find((r, i) => i >= before && r.reason === "timeout"),
          wake,
        );
        const elapsed = performance.now() - startedAt;
        assert.equal(timeout.status, 408);
        assert.equal(timeout.peer, 1, "the refusal names the peer");
        assert.match(timeout.message, /within 300 ms/);
        assert.ok(
          elapsed >= BODY_TIMEOUT_MS - 5,
          `refused after ${elapsed} ms`,
        );
        assert.equal(
          refused.filter((r, i) => i >= before && r.reason === "timeout")
            .length,
          1,
          "reported once",
        );
        await waitFor(
          "the 408 on the stalled socket",
          () =>
            stalled.answer().startsWith("HTTP/1.1 408") &&
              /x-raft-refused: timeout/i.test(stalled.answer())
              ? true
              : undefined,
          wake,
        );
        // The slot is free: node 2's next append is delivered, and so is
        // node 1's.
        const delivered = got.length;
        assert.equal(await sendFromTwo(200), 204);
        assert.equal((await one.send([msg({ index: 201 })])).status, 204);
        assert.deepEqual(
          got.slice(delivered).map((b) => [b[0].from, b[0].index]),
          [[2, 200], [1, 201]],
        );
        assert.ok(
          !got.some((b) => b[0].index === 100),
          "nothing of the stalled frame was delivered",
        );
      } finally {
        clearInterval(trickle);
        stalled.socket.destroy();
      }
    });
  }
});
