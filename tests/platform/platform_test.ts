import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:https";
import process from "node:process";
import * as current from "../../platform/mod.ts";
import * as nodeTwin from "../../platform/platform.node.ts";
import { scriptCommand } from "../_runtime.ts";
import { startDnsServer } from "./_dns_server.ts";
import { CERT, KEY } from "./_tls.ts";

type Platform = typeof current;

/**
 * The platform module this runtime uses (via `platform/mod.ts`), plus the
 * Node twin when running under Deno, so `deno test` proves both.
 */
const platforms: [string, Platform][] = current.runtime === "node"
  ? [["platform/mod.ts (node)", current]]
  : [["platform/mod.ts (deno)", current], ["platform.node.ts", nodeTwin]];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  const { done, value } = await reader.read();
  assert.equal(done, false, "expected a chunk, the body ended");
  return decoder.decode(value);
}

function httpsGet(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", ca, agent: false },
      (res) => {
        let text = "";
        res.on("data", (chunk: Uint8Array) => text += decoder.decode(chunk));
        res.on("end", () => resolve(text));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

for (const [name, platform] of platforms) {
  describe(`platform: ${name}`, () => {
    it("streams a response body chunk by chunk while the handler still writes", async () => {
      const gate = deferred();
      const server = await platform.serve(() => {
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(encoder.encode("first\n"));
            await gate.promise;
            controller.enqueue(encoder.encode("second\n"));
            controller.close();
          },
        });
        return new Response(body, {
          headers: { "content-type": "application/json" },
        });
      }, { port: 0, hostname: "127.0.0.1" });
      try {
        const res = await fetch(`http://127.0.0.1:${server.port}/watch`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/json");
        const reader = res.body!.getReader();
        assert.equal(await readChunk(reader), "first\n");
        gate.resolve();
        let rest = "";
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          rest += decoder.decode(r.value);
        }
        assert.equal(rest, "second\n");
      } finally {
        gate.resolve();
        await server.shutdown();
      }
    });

    it("passes method, path, query, headers and a POST body to the handler", async () => {
      const server = await platform.serve(async (req, remote) => {
        const url = new URL(req.url);
        return Response.json({
          method: req.method,
          path: url.pathname,
          query: url.searchParams.get("q"),
          header: req.headers.get("x-test"),
          body: await req.text(),
          remote: remote.hostname,
          remotePort: remote.port > 0,
        }, { status: 201, headers: { "x-reply": "yes" } });
      }, { port: 0, hostname: "127.0.0.1" });
      try {
        const payload = "x".repeat(200_000);
        const res = await fetch(`http://127.0.0.1:${server.port}/a/b?q=1`, {
          method: "POST",
          headers: { "x-test": "hello" },
          body: payload,
        });
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-reply"), "yes");
        assert.deepEqual(await res.json(), {
          method: "POST",
          path: "/a/b",
          query: "1",
          header: "hello",
          body: payload,
          remote: "127.0.0.1",
          remotePort: true,
        });
      } finally {
        await server.shutdown();
      }
    });

    it("answers 500 when the handler throws and keeps serving", async () => {
      let calls = 0;
      const error = console.error;
      const logged: unknown[] = [];
      console.error = (...data: unknown[]) => logged.push(data);
      const server = await platform.serve(() => {
        calls++;
        if (calls === 1) throw new Error("handler broke");
        return new Response("fine");
      }, { port: 0, hostname: "127.0.0.1" });
      try {
        const first = await fetch(`http://127.0.0.1:${server.port}/`);
        assert.equal(first.status, 500);
        await first.body?.cancel();
        const second = await fetch(`http://127.0.0.1:${server.port}/`);
        assert.equal(await second.text(), "fine");
        assert.equal(logged.length, 1);
      } finally {
        console.error = error;
        await server.shutdown();
      }
    });

    it("aborts the request signal when the client goes away", async () => {
      const aborted = deferred();
      const started = deferred();
      const server = await platform.serve((req) => {
        req.signal.addEventListener("abort", () => aborted.resolve());
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode("open\n"));
            started.resolve();
          },
        });
        return new Response(body);
      }, { port: 0, hostname: "127.0.0.1" });
      try {
        const client = new AbortController();
        const res = await fetch(`http://127.0.0.1:${server.port}/`, {
          signal: client.signal,
        });
        const reader = res.body!.getReader();
        assert.equal(await readChunk(reader), "open\n");
        await started.promise;
        client.abort();
        await reader.read().catch(() => {});
        await aborted.promise;
      } finally {
        await server.shutdown();
      }
    });

    it("shutdown ends open streaming responses and stops accepting connections", async () => {
      const server = await platform.serve(() => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode("event\n"));
          },
        });
        return new Response(body);
      }, { port: 0, hostname: "127.0.0.1" });
      const res = await fetch(`http://127.0.0.1:${server.port}/`);
      const reader = res.body!.getReader();
      assert.equal(await readChunk(reader), "event\n");
      await server.shutdown();
      await server.finished;
      const ended = await reader.read().then((r) => r.done, () => true);
      assert.equal(ended, true);
      await assert.rejects(fetch(`http://127.0.0.1:${server.port}/`));
    });

    it("shutdown answers a handler still pending once the server stops", async () => {
      const entered = deferred();
      const server = await platform.serve(async () => {
        entered.resolve();
        await new Promise<never>(() => {});
        return new Response("never");
      }, { port: 0, hostname: "127.0.0.1" });
      const pending = fetch(`http://127.0.0.1:${server.port}/`).then(
        (res) => res.status,
        () => "closed",
      );
      await entered.promise;
      await server.shutdown();
      const outcome = await pending;
      assert.ok(outcome === 503 || outcome === "closed", String(outcome));
    });

    it("stops when the abort signal in the options fires", async () => {
      const stop = new AbortController();
      const server = await platform.serve(() => new Response("ok"), {
        port: 0,
        hostname: "127.0.0.1",
        signal: stop.signal,
      });
      const res = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.equal(await res.text(), "ok");
      stop.abort();
      await server.finished;
      await assert.rejects(fetch(`http://127.0.0.1:${server.port}/`));
    });

    it("rejects on a port already taken, with no unhandled rejection left behind", async () => {
      const first = await platform.serve(() => new Response("ok"), {
        port: 0,
        hostname: "127.0.0.1",
      });
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", record);
      try {
        await assert.rejects(
          platform.serve(() => new Response("second"), {
            port: first.port,
            hostname: "127.0.0.1",
          }),
        );
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(unhandled, []);
      } finally {
        process.off("unhandledRejection", record);
        await first.shutdown();
      }
    });

    it("serves HTTPS when given a certificate", async () => {
      const server = await platform.serve(() => new Response("secure"), {
        port: 0,
        hostname: "127.0.0.1",
        tls: { cert: CERT, key: KEY },
      });
      try {
        const text = await httpsGet(server.port, CERT);
        assert.equal(text, "secure");
      } finally {
        await server.shutdown();
      }
    });

    it("resolves A, AAAA and SRV records from a given name server", async () => {
      const dns = await startDnsServer({
        "op-0.op.default.svc.cluster.local": {
          a: ["10.1.2.3", "10.1.2.4"],
          aaaa: ["fd00::1"],
        },
        "_raft._tcp.op.default.svc.cluster.local": {
          srv: [{
            priority: 0,
            weight: 10,
            port: 7000,
            target: "op-0.op.default.svc.cluster.local",
          }],
        },
      });
      const nameServer = { ipAddr: "127.0.0.1", port: dns.port };
      try {
        const a = await platform.resolveDns(
          "op-0.op.default.svc.cluster.local",
          "A",
          { nameServer },
        );
        assert.deepEqual([...a].sort(), ["10.1.2.3", "10.1.2.4"]);
        const aaaa = await platform.resolveDns(
          "op-0.op.default.svc.cluster.local",
          "AAAA",
          { nameServer },
        );
        assert.deepEqual(aaaa, ["fd00::1"]);
        const srv = await platform.resolveDns(
          "_raft._tcp.op.default.svc.cluster.local",
          "SRV",
          { nameServer },
        );
        assert.deepEqual(srv, [{
          priority: 0,
          weight: 10,
          port: 7000,
          target: "op-0.op.default.svc.cluster.local.",
        }]);
      } finally {
        await dns.close();
      }
    });

    it("rejects with NotFound for no such name, no such records, and a refusal", async () => {
      const dns = await startDnsServer({
        "only-a.test": { a: ["10.0.0.1"] },
        "refused.test": { refuse: true },
      });
      const nameServer = { ipAddr: "127.0.0.1", port: dns.port };
      try {
        for (
          const [name, type] of [
            ["missing.test", "A"],
            ["only-a.test", "AAAA"],
            ["only-a.test", "SRV"],
            ["refused.test", "A"],
          ] as const
        ) {
          await assert.rejects(
            type === "SRV"
              ? platform.resolveDns(name, type, { nameServer })
              : platform.resolveDns(name, type, { nameServer }),
            (error: Error) => error.name === "NotFound",
            `${type} ${name}`,
          );
        }
      } finally {
        await dns.close();
      }
    });

    it("getEnv reads a variable and is undefined for a missing one", () => {
      process.env.PLATFORM_TEST_GETENV = "value 1";
      try {
        assert.equal(platform.getEnv("PLATFORM_TEST_GETENV"), "value 1");
        assert.equal(
          platform.getEnv("PLATFORM_TEST_UNSET_VARIABLE"),
          undefined,
        );
      } finally {
        delete process.env.PLATFORM_TEST_GETENV;
      }
    });
  });
}

describe(`platform: process services (${current.runtime})`, () => {
  it("passes args and env to a child that exits with its code on SIGTERM", async () => {
    const { command, args } = scriptCommand(
      new URL("./_child.ts", import.meta.url),
      ["3", "second arg"],
    );
    const child = spawn(command, args, {
      env: { ...process.env, PLATFORM_TEST_VAR: "from parent" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const ready = deferred();
    child.stdout.on("data", (chunk: Uint8Array) => {
      out += decoder.decode(chunk);
      if (out.includes("\n")) ready.resolve();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code))
    );
    await ready.promise;
    assert.deepEqual(JSON.parse(out.split("\n")[0]), {
      runtime: current.runtime,
      args: ["3", "second arg"],
      env: "from parent",
    });
    // process.kill, not child.kill: Deno's child.kill reports the exit as
    // killed by the signal even when the child handled it and exited.
    process.kill(child.pid!, "SIGTERM");
    assert.equal(await exited, 3);
    assert.match(out, /got SIGTERM/);
  });
});
