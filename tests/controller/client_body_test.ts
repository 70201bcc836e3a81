/**
 * A response body that breaks off fails the read instead of leaving it
 * waiting. undici's fetch errors its body only when Node's
 * `stream.isReadable` knows web streams; Deno's does not, so under Deno a
 * connection closed (an API server killed or restarted) or a signal
 * aborted (the client's timeout) in the middle of a body left `text()` and
 * every watch read pending forever. The server is a `node:https` server
 * that sends the headers and part of a body, then closes or stalls.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:https";
import type { ServerResponse } from "node:http";
import type { KubeClient } from "../../client/kube_client.ts";
import { makeTestCertificates } from "../../testing/_cert.ts";
import { TestApiServer } from "../../testing/mod.ts";
import { scriptCommand } from "../_runtime.ts";
import { configMaps } from "../../testing/resource_types.ts";
import { settles, tokenClient } from "./_helpers.ts";

const certificates = makeTestCertificates(["127.0.0.1"]);

/** What the server does after the headers and the first part of a body. */
type Ending = "close" | "stall";

/**
 * Answers `GET …/<ending>` with 200, a chunked body's first part
 * (`{"type":"ADDED"…` for watches), then closes the connection or stalls.
 */
async function startBreakingServer(): Promise<
  { url: string; close(): Promise<void> }
> {
  const stalled = new Set<ServerResponse>();
  const server: Server = createServer({
    cert: certificates.certPem,
    key: certificates.keyPem,
  }, (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    const watch = new URL(req.url!, "https://x").searchParams.has("watch");
    res.write(
      watch
        ? '{"type":"ADDED","object":{"kind":"ConfigMap"}}\n'
        : '{"kind":"ConfigMap","metadata":{"na',
    );
    const ending = req.url!.split("?")[0].split("/").at(-1) as Ending;
    if (ending === "close") setTimeout(() => res.socket?.destroy(), 50);
    else stalled.add(res);
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function clientFor(url: string, timeoutMs?: number): KubeClient {
  return tokenClient(url, { caPem: certificates.caPem, timeoutMs });
}

describe("KubeClient.fromKubeConfig with a body that breaks off", () => {
  let server: { url: string; close(): Promise<void> };
  before(async () => {
    server = await startBreakingServer();
  });
  after(async () => {
    await server?.close();
  });

  it("fails a request whose connection closes in the middle of the body", async () => {
    const outcome = await settles(
      clientFor(server.url).get(configMaps, "close", { namespace: "default" }),
    );
    assert.ok(typeof outcome === "object", `the get was ${outcome}`);
    assert.ok(outcome.error instanceof Error);
  });

  it("fails a request whose body stalls when the client's timeout ends", async () => {
    const outcome = await settles(
      clientFor(server.url, 300).get(configMaps, "stall", {
        namespace: "default",
      }),
    );
    assert.ok(typeof outcome === "object", `the get was ${outcome}`);
    assert.equal((outcome.error as Error).name, "TimeoutError");
  });

  it("fails a watch's read when its connection closes", async () => {
    const response = await clientFor(server.url).fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps/close",
      { query: { watch: "true" } },
    );
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /"ADDED"/);
    const outcome = await settles(reader.read());
    assert.ok(typeof outcome === "object", `the read was ${outcome}`);
    assert.ok(outcome.error instanceof Error);
  });

  it("fails a watch's read with the reason of the caller's signal", async () => {
    const controller = new AbortController();
    const response = await clientFor(server.url).fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps/stall",
      { query: { watch: "true" }, signal: controller.signal },
    );
    const reader = response.body!.getReader();
    await reader.read();
    const reason = new Error("no longer watching");
    controller.abort(reason);
    const outcome = await settles(reader.read());
    assert.deepEqual(outcome, { error: reason });
  });
});

describe("KubeClient.fromKubeConfig with a body nobody reads", () => {
  it("cancels a small body that arrived whole without an uncaught error (the API health probe cancels its bodies)", async () => {
    // In a process of its own: the test runner keeps an uncaught error
    // from ending this one, a real operator's process dies of it.
    await using server = await TestApiServer.start();
    const dir = await mkdtemp(join(tmpdir(), "cancel-body-"));
    try {
      const kubeconfig = join(dir, "kubeconfig.yaml");
      await writeFile(kubeconfig, server.kubeConfigYaml());
      const { command, args } = scriptCommand(
        new URL("./_cancel_body_child.ts", import.meta.url),
        [kubeconfig],
      );
      const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => stdout += chunk);
      child.stderr.on("data", (chunk) => stderr += chunk);
      const code = await new Promise((resolve) => child.once("close", resolve));
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim(), "answered 200 after the cancel");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
