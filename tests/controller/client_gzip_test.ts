/**
 * Compression of `KubeClient.fromKubeConfig`'s responses: every request but
 * a watch asks for gzip, a gzip body is decoded, and a hostile or broken
 * one (a gzip bomb, a truncated or corrupt body, a content-encoding not
 * asked for, one on a watch) fails with `ApiError` `MalformedResponse`
 * instead of hanging or filling memory. The server is a `node:https`
 * server on loopback that answers each path as the test says.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { ApiError } from "../../client/errors.ts";
import {
  type FromKubeConfigOptions,
  KubeClient,
} from "../../client/kube_client.ts";
import type { KubeObject } from "../../client/objects.ts";
import { configMaps } from "../../testing/resource_types.ts";
import { makeTestCertificates } from "../../testing/_cert.ts";
import { EnvTest } from "../../testing/envtest.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import { settles, tokenClient } from "./_helpers.ts";

const certificates = makeTestCertificates(["127.0.0.1"]);

/** A list of `count` ConfigMaps, as JSON text (about 150 bytes each). */
function listText(count: number): string {
  const items = Array.from({ length: count }, (_, i) => ({
    metadata: { name: `cm-${i}`, namespace: "default", resourceVersion: "7" },
    data: { mode: "blue", index: String(i) },
  }));
  return JSON.stringify({
    kind: "ConfigMapList",
    apiVersion: "v1",
    metadata: { resourceVersion: "7" },
    items,
  });
}

const LIST = listText(2_000);
const WATCH_EVENT = JSON.stringify({
  type: "ADDED",
  object: { kind: "ConfigMap", metadata: { name: "a", resourceVersion: "8" } },
}) + "\n";

/** What the server answers to `GET …/configmaps/<name>` (or a list). */
const answers: Record<
  string,
  (req: IncomingMessage, res: ServerResponse) => void
> = {
  // A list: gzip when asked, as kube-apiserver (over 128 KiB).
  configmaps(req, res) {
    if (new URL(req.url!, "https://x").searchParams.get("watch") === "true") {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(WATCH_EVENT);
      res.end();
      return;
    }
    const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    res.writeHead(200, {
      "content-type": "application/json",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    res.end(gzip ? gzipSync(LIST) : LIST);
  },
  // The gzip of a list cut in half, the HTTP body itself complete.
  truncated(_req, res) {
    const body = gzipSync(LIST);
    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    res.end(body.subarray(0, body.length >> 1));
  },
  // 64 MiB of spaces (valid JSON whitespace) in about 64 KiB of gzip.
  bomb(_req, res) {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    res.end(BOMB);
  },
  // Plain JSON labelled gzip.
  mislabelled(_req, res) {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    res.end('{"metadata":{"name":"mislabelled"}}');
  },
  // An encoding never asked for.
  brotli(_req, res) {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "br",
    });
    res.end("\u000b\u0003\u0080{}\u0003");
  },
  // A plain body over the cap, its length not declared (chunked).
  large(_req, res) {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('{"metadata":{"name":"large"},"data":{"x":"');
    res.write("x".repeat(2 * 1024 * 1024));
    res.end('"}}');
  },
  // The same, its length declared.
  declared(_req, res) {
    const body = `{"data":{"x":"${"x".repeat(2 * 1024 * 1024)}"}}`;
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": body.length,
    });
    res.end(body);
  },
  // A 404 Status, gzip as asked.
  missing(_req, res) {
    res.writeHead(404, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    res.end(gzipSync(JSON.stringify({
      kind: "Status",
      status: "Failure",
      reason: "NotFound",
      message: 'configmaps "missing" not found',
      code: 404,
    })));
  },
  // A watch whose body is gzip though nobody asked.
  gzipwatch(_req, res) {
    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    res.write(gzipSync(WATCH_EVENT));
  },
};

const BOMB = gzipSync(Buffer.alloc(64 * 1024 * 1024, " "), { level: 9 });

interface Seen {
  path: string;
  acceptEncoding: string | undefined;
}

async function startServer(): Promise<
  { url: string; seen: Seen[]; close(): Promise<void> }
> {
  const seen: Seen[] = [];
  const server: Server = createServer({
    cert: certificates.certPem,
    key: certificates.keyPem,
  }, (req, res) => {
    const url = new URL(req.url!, "https://x");
    seen.push({
      path: url.pathname + url.search,
      acceptEncoding: req.headers["accept-encoding"],
    });
    const name = url.pathname.split("/").at(-1)!;
    (answers[name] ?? answers.configmaps)(req, res);
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function clientFor(url: string, options: FromKubeConfigOptions = {}) {
  return tokenClient(url, { caPem: certificates.caPem, ...options });
}

/** Asserts `work` failed with ApiError MalformedResponse matching `message`. */
async function assertMalformed(
  work: Promise<unknown>,
  message: RegExp,
): Promise<ApiError> {
  const outcome = await settles(work);
  assert.ok(
    typeof outcome === "object",
    `expected a failure, found ${outcome}`,
  );
  const error = outcome.error;
  assert.ok(error instanceof ApiError, `found ${error}`);
  assert.equal(error.reason, "MalformedResponse");
  assert.match(error.message, message);
  return error;
}

describe("KubeClient.fromKubeConfig compression", () => {
  let server: { url: string; seen: Seen[]; close(): Promise<void> };
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.close();
  });

  it("asks for gzip on a list and decodes the gzip answer", async () => {
    server.seen.length = 0;
    const list = await clientFor(server.url).list<
      KubeObject & { data: { index: string } }
    >(configMaps, { namespace: "default" });
    assert.equal(list.items.length, 2_000);
    assert.equal(list.items[1_999].data.index, "1999");
    assert.deepEqual(server.seen, [{
      path: "/api/v1/namespaces/default/configmaps",
      acceptEncoding: "gzip",
    }]);
  });

  it("decodes a gzip body read as a stream", async () => {
    const response = await clientFor(server.url).fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps",
    );
    assert.equal(response.headers.get("content-encoding"), "gzip");
    const text = await new Response(response.body).text();
    assert.equal(text, LIST);
  });

  it("asks for no compression with compression: false", async () => {
    server.seen.length = 0;
    const client = clientFor(server.url, { compression: false });
    const list = await client.list(configMaps, { namespace: "default" });
    assert.equal(list.items.length, 2_000);
    assert.deepEqual(server.seen.map((s) => s.acceptEncoding), [undefined]);
  });

  it("decodes a gzip error Status into its ApiError", async () => {
    const error = await clientFor(server.url).get(configMaps, "missing", {
      namespace: "default",
    }).catch((e) => e);
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 404);
    assert.equal(error.reason, "NotFound");
  });

  it("fails a truncated gzip body with MalformedResponse", async () => {
    const client = clientFor(server.url);
    await assertMalformed(
      client.get(configMaps, "truncated", { namespace: "default" }),
      /expected a complete gzip body, found \d+ bytes that fail to decompress/,
    );
    const response = await client.fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps/truncated",
    );
    await assertMalformed(
      new Response(response.body).text(),
      /expected a complete gzip body/,
    );
  });

  it("fails a body labelled gzip that is not gzip with MalformedResponse", async () => {
    await assertMalformed(
      clientFor(server.url).get(configMaps, "mislabelled", {
        namespace: "default",
      }),
      /expected a complete gzip body/,
    );
  });

  it("refuses a gzip bomb at maxResponseBytes, decompressed", async () => {
    const client = clientFor(server.url, { maxResponseBytes: 1024 * 1024 });
    await assertMalformed(
      client.get(configMaps, "bomb", { namespace: "default" }),
      /expected a body of at most 1048576 bytes \(maxResponseBytes\), found more once decompressed/,
    );
    const response = await client.fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps/bomb",
    );
    await assertMalformed(
      new Response(response.body).text(),
      /at most 1048576 bytes \(maxResponseBytes\), found more once decompressed/,
    );
  });

  it("reads the bomb whole under a cap above it (the cap is what refused it)", async () => {
    const client = clientFor(server.url, {
      maxResponseBytes: 65 * 1024 * 1024,
    });
    const response = await client.fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps/bomb",
    );
    assert.equal((await response.arrayBuffer()).byteLength, 64 * 1024 * 1024);
  });

  it("refuses a plain body over maxResponseBytes", async () => {
    await assertMalformed(
      clientFor(server.url, { maxResponseBytes: 1024 * 1024 }).get(
        configMaps,
        "large",
        { namespace: "default" },
      ),
      /expected a body of at most 1048576 bytes \(maxResponseBytes\), found more$/,
    );
    await assertMalformed(
      clientFor(server.url, { maxResponseBytes: 1024 * 1024 }).get(
        configMaps,
        "declared",
        { namespace: "default" },
      ),
      /at most 1048576 bytes \(maxResponseBytes\), found content-length 2097169$/,
    );
  });

  it("refuses a maxResponseBytes that caps nothing", () => {
    for (const maxResponseBytes of [0, -1, Number.NaN]) {
      assert.throws(
        () => clientFor(server.url, { maxResponseBytes }),
        /Expected maxResponseBytes to be a positive number, found/,
      );
    }
  });

  it("refuses a content-encoding it did not ask for", async () => {
    await assertMalformed(
      clientFor(server.url).get(configMaps, "brotli", {
        namespace: "default",
      }),
      /expected a body with content-encoding gzip or none, found content-encoding "br"/,
    );
    await assertMalformed(
      clientFor(server.url, { compression: false }).get(
        configMaps,
        "missing",
        { namespace: "default" },
      ),
      /expected a body with no content-encoding \(none was asked for\), found content-encoding "gzip"/,
    );
  });

  it("asks for no compression on a watch and streams it as before", async () => {
    server.seen.length = 0;
    const response = await clientFor(server.url).fetch(
      "GET",
      "/api/v1/namespaces/default/configmaps",
      { query: { watch: "true" } },
    );
    assert.equal(await new Response(response.body).text(), WATCH_EVENT);
    assert.deepEqual(server.seen, [{
      path: "/api/v1/namespaces/default/configmaps?watch=true",
      acceptEncoding: undefined,
    }]);
  });

  it("refuses a watch answered with gzip", async () => {
    await assertMalformed(
      clientFor(server.url).fetch(
        "GET",
        "/api/v1/namespaces/default/configmaps/gzipwatch",
        { query: { watch: "true" } },
      ),
      /expected a body with no content-encoding \(none was asked for\), found content-encoding "gzip"/,
    );
  });
});

describe("KubeClient.fromKubeConfig compression against a kube-apiserver", {
  skip: skipUnlessEnvTest("the gzip list test"),
}, () => {
  it("gets a list over 128 KiB gzip and decodes it; without compression plain", async () => {
    await using plane = await EnvTest.start();
    const client = KubeClient.fromKubeConfig(plane.kubeConfig());
    const count = 1_000;
    // About 300 bytes each on the wire: some 300 KiB in all.
    for (let start = 0; start < count; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          client.create(configMaps, {
            metadata: { name: `cm-${start + i}`, namespace: "default" },
            data: { payload: `${start + i}`.padEnd(200, "x") },
          } as KubeObject)),
      );
    }
    // Ours, without the kube-root-ca.crt the controller manager adds.
    const ours = (items: KubeObject[]) =>
      items.filter((item) => item.metadata.name?.startsWith("cm-")).length;
    const path = "/api/v1/namespaces/default/configmaps";
    const response = await client.fetch("GET", path);
    assert.equal(response.headers.get("content-encoding"), "gzip");
    const list = await response.json() as { items: KubeObject[] };
    assert.equal(ours(list.items), count);
    const listed = await client.list(configMaps, { namespace: "default" });
    assert.equal(ours(listed.items), count);

    const plain = KubeClient.fromKubeConfig(plane.kubeConfig(), {
      compression: false,
    });
    const unzipped = await plain.fetch("GET", path);
    assert.equal(unzipped.headers.get("content-encoding"), null);
    assert.equal(
      ours(((await unzipped.json()) as { items: KubeObject[] }).items),
      count,
    );
    // A single object stays plain (kube-apiserver compresses over 128 KiB).
    const one = await client.fetch("GET", `${path}/cm-1`);
    assert.equal(one.headers.get("content-encoding"), null);
    await one.body?.cancel();
  });
});
