/**
 * The streamed HTTP/1.1 request of the Raft transport (`raft/_stream_client.ts`)
 * against the platform's server and against raw sockets that answer byte by
 * byte, with every framing an HTTP/1.1 answer may use.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { serve } from "../../platform/mod.ts";
import { StreamRequest } from "../../raft/_stream_client.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | null) =>
  b === null ? null : new TextDecoder().decode(b);

/** A raw TCP server that answers every connection with `answer`. */
async function rawServer(
  answer: (socket: Socket) => void,
): Promise<{ base: string; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { base: `http://127.0.0.1:${port}`, server };
}

function close(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

describe("streamed HTTP/1.1 request", () => {
  it("writes its body chunk by chunk while the answer streams back, each piece as it comes", async () => {
    const server = await serve((req) => {
      const reader = req.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(bytes(`got ${text(value)};`));
        },
      });
      return new Response(body, { status: 200, headers: { "x-a": "1" } });
    }, { port: 0, hostname: "127.0.0.1" });
    const req = StreamRequest.open({
      base: `http://127.0.0.1:${server.port}`,
      path: "/echo",
      headers: { "content-type": "application/octet-stream" },
    });
    try {
      req.write(bytes("one"));
      const res = await req.response;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-a"), "1");
      assert.equal(text(await res.read()), "got one;");
      req.write(bytes("two"));
      assert.equal(text(await res.read()), "got two;");
      req.end();
      assert.equal(await res.read(), null);
    } finally {
      req.abort();
      await server.shutdown();
    }
  });

  it("reads an answer with a length, one without a body, and chunks split at every byte", async () => {
    const answers = [
      "HTTP/1.1 409 Conflict\r\ncontent-length: 5\r\nx-raft-refused: session\r\n\r\nabcde",
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n",
    ];
    for (const [i, answer] of answers.entries()) {
      const { base, server } = await rawServer((socket) => {
        socket.once("data", async () => {
          for (const b of bytes(answer)) {
            socket.write(new Uint8Array([b]));
            await new Promise((r) => setImmediate(r));
          }
        });
        socket.on("error", () => {});
      });
      const req = StreamRequest.open({ base, path: "/", headers: {} });
      try {
        req.write(bytes("x"));
        const res = await req.response;
        if (i === 0) {
          assert.equal(res.status, 409);
          assert.equal(res.headers.get("x-raft-refused"), "session");
          assert.equal(await res.text(), "abcde");
        } else if (i === 1) {
          assert.equal(res.status, 204);
          assert.equal(await res.read(), null);
        } else {
          assert.equal(await res.text(), "abc0123456789");
        }
      } finally {
        req.abort();
        await close(server);
      }
    }
  });

  it("fails with the connection's error when it is refused, reset or cut inside the answer, and with an AbortError when aborted", async () => {
    const gone = await rawServer(() => {});
    await close(gone.server);
    const refused = StreamRequest.open({
      base: gone.base,
      path: "/",
      headers: {},
    });
    await assert.rejects(
      refused.response,
      (e: Error) => e.name !== "AbortError",
    );

    const { base, server } = await rawServer((socket) => {
      socket.once("data", () => {
        socket.write(
          "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
        );
        socket.end();
      });
    });
    const cut = StreamRequest.open({ base, path: "/", headers: {} });
    cut.write(bytes("x"));
    const res = await cut.response;
    assert.equal(text(await res.read()), "ab");
    await assert.rejects(res.read(), /closed/);
    cut.abort();

    const aborted = StreamRequest.open({ base, path: "/", headers: {} });
    aborted.abort();
    await assert.rejects(aborted.response, { name: "AbortError" });
    await close(server);
  });

  it("refuses an answer that is no HTTP/1.1, or whose head never ends", async () => {
    const cases = [
      "SSH-2.0-OpenSSH\r\n\r\n",
      `HTTP/1.1 200 OK\r\nx: ${"y".repeat(20_000)}`,
    ];
    for (const answer of cases) {
      const { base, server } = await rawServer((socket) => {
        socket.on("error", () => {});
        socket.once("data", () => socket.write(answer));
      });
      const req = StreamRequest.open({ base, path: "/", headers: {} });
      req.write(bytes("x"));
      await assert.rejects(req.response, /status line|response head/);
      req.abort();
      await close(server);
    }
  });
});
