/**
 * Load benchmark for the test API server: 100 concurrent watches, then
 * 10,000 custom objects created over HTTPS keep-alive connections; prints
 * creates/s, watch events delivered/s, list latency and memory, and the
 * create rate as a ratio of a bare HTTPS server's request rate measured in
 * the same process with the same client (the cost of the API logic).
 *
 * Run: `deno task bench:apiserver` (optionally `-- --objects 2000 --watches 20`).
 *
 * @module
 */
import { Agent, request } from "node:https";
import { createServer } from "node:https";
import { memoryUsage } from "node:process";
import { args } from "../platform/mod.ts";
import { TestApiServer } from "../testing/mod.ts";
import { makeTestCertificates } from "../testing/_cert.ts";

function option(name: string, fallback: number): number {
  const list = args();
  const at = list.indexOf(`--${name}`);
  return at >= 0 ? Number(list[at + 1]) : fallback;
}

const OBJECTS = option("objects", 10_000);
const WATCHES = option("watches", 100);
const CONCURRENCY = option("concurrency", 32);

interface Target {
  base: string;
  ca: string;
  token: string;
  agent: Agent;
}

function call(
  t: Target,
  fields: { method: string; path: string; body?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(fields.path, t.base), {
      method: fields.method,
      agent: t.agent,
      ca: t.ca,
      headers: {
        authorization: `Bearer ${t.token}`,
        "content-type": "application/json",
      },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(fields.body);
  });
}

async function pool(
  n: number,
  worker: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await worker(next++);
  });
  await Promise.all(runners);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function baselineRate(n: number): Promise<number> {
  const certs = makeTestCertificates(["127.0.0.1"]);
  const server = createServer(
    { cert: certs.certPem, key: certs.keyPem },
    (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json" });
        res.end('{"kind":"Widget"}');
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const t: Target = {
    base: `https://127.0.0.1:${port}`,
    ca: certs.caPem,
    token: "x",
    agent,
  };
  const body = JSON.stringify({ spec: { size: 1 } });
  const start = performance.now();
  await pool(n, async () => {
    await call(t, { method: "POST", path: "/", body });
  });
  const rate = n / ((performance.now() - start) / 1000);
  agent.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  return rate;
}

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.bench.example.com" },
  spec: {
    group: "bench.example.com",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget" },
    versions: [{
      name: "v1",
      served: true,
      storage: true,
      subresources: { status: {} },
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: {
            spec: {
              type: "object",
              required: ["size"],
              properties: {
                size: { type: "integer", minimum: 0 },
                mode: {
                  type: "string",
                  enum: ["fast", "safe"],
                  default: "safe",
                },
              },
            },
            status: {
              type: "object",
              "x-kubernetes-preserve-unknown-fields": true,
            },
          },
        },
      },
    }],
  },
};

const before = memoryUsage();
const server = await TestApiServer.start({
  historyLimit: OBJECTS + 100,
  bookmarkIntervalMs: 0,
});
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const t: Target = {
  base: server.url,
  ca: server.caPem,
  token: server.token,
  agent,
};
const made = await call(t, {
  method: "POST",
  path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
  body: JSON.stringify(crd),
});
if (made.status !== 201) {
  throw new Error(
    `Expected the CRD to be created, found ${made.status}: ${made.text}`,
  );
}

const path = "/apis/bench.example.com/v1/namespaces/default/widgets";
const watchAgent = new Agent({ keepAlive: false });
const received = new Array<number>(WATCHES).fill(0);
let allDelivered: () => void = () => {};
const delivered = new Promise<void>((r) => (allDelivered = r));
let complete = 0;
if (WATCHES === 0) allDelivered();
const rv = server.resourceVersion;
for (let i = 0; i < WATCHES; i++) {
  const req = request(
    new URL(`${path}?watch=true&resourceVersion=${rv}`, server.url),
    {
      agent: watchAgent,
      ca: server.caPem,
      headers: { authorization: `Bearer ${server.token}` },
    },
    (res) => {
      res.on("data", (chunk: Buffer) => {
        let lines = 0;
        for (const byte of chunk) if (byte === 10) lines++;
        received[i] += lines;
        if (received[i] >= OBJECTS && received[i] - lines < OBJECTS) {
          complete++;
          if (complete === WATCHES) allDelivered();
        }
      });
      res.on("error", () => {});
    },
  );
  req.on("error", () => {});
  req.end();
}
while (server.openWatches < WATCHES) {
  await new Promise((r) => setTimeout(r, 10));
}

const start = performance.now();
await pool(OBJECTS, async (i) => {
  const res = await call(t, {
    method: "POST",
    path,
    body: JSON.stringify({
      apiVersion: "bench.example.com/v1",
      kind: "Widget",
      metadata: { name: `w-${i}`, labels: { shard: String(i % 10) } },
      spec: { size: i },
    }),
  });
  if (res.status !== 201) {
    throw new Error(`Expected 201, found ${res.status}: ${res.text}`);
  }
});
const createdMs = performance.now() - start;
await delivered;
const deliveredMs = performance.now() - start;

const listStart = performance.now();
const list = await call(t, { method: "GET", path });
const listMs = performance.now() - listStart;
const items = (JSON.parse(list.text).items as unknown[]).length;
const selStart = performance.now();
const sel = await call(t, {
  method: "GET",
  path: `${path}?labelSelector=shard%3D3&limit=500`,
});
const selMs = performance.now() - selStart;
const selected = (JSON.parse(sel.text).items as unknown[]).length;
const after = memoryUsage();

const createRate = OBJECTS / (createdMs / 1000);
const baseline = await baselineRate(Math.min(OBJECTS, 5000));

console.log(`objects created:        ${OBJECTS} (concurrency ${CONCURRENCY})`);
console.log(
  `create rate:            ${createRate.toFixed(0)} objects/s (${
    createdMs.toFixed(0)
  } ms)`,
);
console.log(
  `bare HTTPS baseline:    ${
    baseline.toFixed(0)
  } requests/s (same client, same process)`,
);
console.log(`create / baseline:      ${(createRate / baseline).toFixed(2)}`);
console.log(
  `watch delivery:         ${WATCHES} watches x ${OBJECTS} events in ${
    deliveredMs.toFixed(0)
  } ms = ${(WATCHES * OBJECTS / (deliveredMs / 1000)).toFixed(0)} events/s`,
);
console.log(
  `full list:              ${items} items in ${listMs.toFixed(0)} ms (${
    mb(list.text.length)
  } of JSON)`,
);
console.log(
  `label-selected page:    ${selected} items in ${selMs.toFixed(0)} ms`,
);
console.log(`rss:                    ${mb(before.rss)} -> ${mb(after.rss)}`);
console.log(
  `heap used:              ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}`,
);

agent.destroy();
watchAgent.destroy();
await server.stop();
