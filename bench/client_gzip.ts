/**
 * `deno task bench:client-gzip`: what asking kube-apiserver for gzip costs
 * and saves. A real kube-apiserver (envtest, `KUBEBUILDER_ASSETS`) holds
 * `BENCH_OBJECTS` ConfigMaps (10,000, about 300 bytes each as JSON); a
 * `KubeClient.fromKubeConfig` with `compression` on and one with it off
 * each list them `BENCH_RUNS` times (3) whole, then in pages of 500 (the
 * watcher's default), alternating. Per way: bytes on the wire (a raw
 * `node:https` GET with and without `accept-encoding: gzip`), and per list
 * the median wall time, this process's CPU time (decompression, JSON) and
 * kube-apiserver's (compression, from `/proc`, 10 ms steps), and the time
 * to decompress the gzip body alone. Loopback: the wire is free here; on a
 * real cluster the bytes saved cross a network.
 *
 * @module
 */
import { request } from "node:https";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import process from "node:process";
import { KubeClient, type KubeObject } from "../controller/mod.ts";
import { EnvTest } from "../testing/envtest.ts";
import { configMaps } from "../testing/resource_types.ts";

const N = Number(process.env.BENCH_OBJECTS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PATH = "/api/v1/namespaces/default/configmaps";

/** CPU seconds (user + system) of process `pid` so far, from `/proc`. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]
    .split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Bytes of the body of one GET of `path`, asked for gzip or not. */
function wireBytes(
  plane: EnvTest,
  options: { path: string; gzip: boolean },
): Promise<{ bytes: number; encoding: string; body: Uint8Array }> {
  const url = new URL(plane.url + options.path);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      ca: plane.caPem,
      headers: {
        authorization: `Bearer ${plane.token}`,
        accept: "application/json",
        ...(options.gzip ? { "accept-encoding": "gzip" } : {}),
      },
    }, (res) => {
      let bytes = 0;
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => {
        bytes += chunk.length;
        chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({
          bytes,
          encoding: String(res.headers["content-encoding"] ?? "none"),
          body: Buffer.concat(chunks),
        }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

await using plane = await EnvTest.start();
const apiServer = plane.pids["kube-apiserver"]!;
const seeder = KubeClient.fromKubeConfig(plane.kubeConfig());
for (let start = 0; start < N; start += 100) {
  await Promise.all(
    Array.from(
      { length: Math.min(100, N - start) },
      (_, i) =>
        seeder.create(configMaps, {
          metadata: {
            name: `bench-${start + i}`,
            namespace: "default",
            labels: { app: "bench", tier: "web" },
          },
          data: { mode: "blue", payload: `${start + i}`.padEnd(120, "x") },
        } as KubeObject),
    ),
  );
}

const ways = [
  { name: "gzip", client: KubeClient.fromKubeConfig(plane.kubeConfig()) },
  {
    name: "plain",
    client: KubeClient.fromKubeConfig(plane.kubeConfig(), {
      compression: false,
    }),
  },
];
console.log(
  `${N} ConfigMaps on envtest's kube-apiserver, ${RUNS} runs; medians per list`,
);
for (const limit of [undefined, 500]) {
  const samples = new Map(
    ways.map((w) => [w.name, { wall: [], client: [], server: [] }]),
  ) as Map<string, { wall: number[]; client: number[]; server: number[] }>;
  for (let run = 0; run < RUNS; run++) {
    for (const way of ways) {
      const server0 = cpuOf(apiServer);
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      let items = 0;
      let token: string | undefined;
      do {
        const page = await way.client.list(configMaps, {
          namespace: "default",
          limit,
          continue: token,
        });
        items += page.items.length;
        token = page.metadata.continue || undefined;
      } while (token);
      const wall = performance.now() - t0;
      const client = process.cpuUsage(client0);
      if (items < N) throw new Error(`listed ${items} of ${N}`);
      const s = samples.get(way.name)!;
      s.wall.push(wall);
      s.client.push((client.user + client.system) / 1000);
      s.server.push((cpuOf(apiServer) - server0) * 1000);
    }
  }
  const query = limit ? `?limit=${limit}` : "";
  console.log(`\nlist ${limit ? `in pages of ${limit}` : "whole"}:`);
  for (const way of ways) {
    const first = await wireBytes(plane, {
      path: PATH + query,
      gzip: way.name === "gzip",
    });
    const s = samples.get(way.name)!;
    console.log(
      `  ${way.name.padEnd(5)} wire ${
        (first.bytes / 1024).toFixed(0).padStart(6)
      } KiB${limit ? " (first page)" : ""} (${first.encoding}), wall ${
        median(s.wall).toFixed(1)
      } ms, client CPU ${median(s.client).toFixed(1)} ms, kube-apiserver CPU ${
        median(s.server).toFixed(0)
      } ms`,
    );
    if (first.encoding === "gzip") {
      // The client's part alone, steadier than its whole CPU time.
      const times: number[] = [];
      let size = 0;
      for (let run = 0; run < RUNS; run++) {
        const t0 = performance.now();
        size = gunzipSync(first.body).length;
        times.push(performance.now() - t0);
      }
      console.log(
        `        decompressing it (${(size / 1024).toFixed(0)} KiB): ${
          median(times).toFixed(1)
        } ms`,
      );
    }
  }
}
