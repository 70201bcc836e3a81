/**
 * `deno task bench:sharding`: how fast a backlog drains with a leader-only
 * controller against sharded ones. Every run starts a test API server,
 * creates `--objects` ConfigMaps, then starts the replicas (Operators in this
 * process, Raft over HTTP on loopback) whose reconciler waits `--wait-ms`
 * per object with `--workers` workers per replica; it times from the first
 * reconcile to the last object reconciled, and counts the reconciles started
 * (more than the objects when leadership or shards moved mid-run). Runs: 3 replicas leader-only, and
 * sharded with each count of `--replicas`.
 *
 * ```sh
 * deno task bench:sharding                                  # 10,000 objects, 50 ms, 4 workers; 3 leader-only, 3 and 5 sharded
 * deno task bench:sharding --objects 400 --replicas 3       # a short check
 * ```
 *
 * @module
 */
import process from "node:process";
import {
  type KubeObject,
  Operator,
  type OperatorReconciler,
  ReconcileResult,
  type ResourceType,
} from "../mod.ts";
import { KubeClient } from "../controller/mod.ts";
import { startReplicas, TestApiServer } from "../testing/mod.ts";
import { reportRow } from "./_report.ts";

const configMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new RangeError(
      `Expected --${name} to be a positive integer, found ${
        process.argv[i + 1]
      }`,
    );
  }
  return v;
}

function replicaCounts(): number[] {
  const i = process.argv.indexOf("--replicas");
  if (i < 0) return [3, 5];
  return String(process.argv[i + 1]).split(",").map((v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(
        `Expected --replicas to list positive integers, found ${v}`,
      );
    }
    return n;
  });
}

const objects = flag("objects", 10_000);
const waitMs = flag("wait-ms", 50);
const workers = flag("workers", 4);

interface Result {
  mode: string;
  replicas: number;
  seconds: number;
  perSecond: number;
  /** Reconciles started (more than the objects when some were cancelled). */
  calls: number;
}

async function run(replicas: number, sharded: boolean): Promise<Result> {
  const server = await TestApiServer.start();
  try {
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    const names = Array.from({ length: objects }, (_, i) => `obj-${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) =>
          client.create(configMaps, {
            metadata: {
              name,
              namespace: "default",
              labels: { "bench-sharding": "yes" },
            },
          } as KubeObject)
        ),
      );
    }
    const done = new Set<string>();
    let first = Infinity;
    let last = 0;
    let calls = 0;
    const reconciler: OperatorReconciler<KubeObject> = {
      labelSelector: "bench-sharding=yes",
      concurrency: workers,
      async reconcile(_object, ctx) {
        first = Math.min(first, performance.now());
        calls++;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        ctx.signal.throwIfAborted();
        done.add(ctx.key);
        last = performance.now();
        return ReconcileResult.done();
      },
    };
    const started = await startReplicas({
      controlPlane: server,
      replicas,
      operator: (options) =>
        Operator.fromEnv({ ...options, sharding: { shards: 256 } }).controller(
          configMaps,
          reconciler,
          { sharded },
        ),
      timeoutMs: 600_000,
    });
    try {
      await started.waitFor(
        `${objects} objects reconciled`,
        () => done.size === objects,
        600_000,
      );
    } finally {
      await started.stop();
    }
    const seconds = (last - first) / 1000;
    return {
      mode: sharded ? "sharded" : "leader-only",
      replicas,
      seconds,
      perSecond: objects / seconds,
      calls,
    };
  } finally {
    await server.stop();
  }
}

const results: Result[] = [await run(3, false)];
for (const n of replicaCounts()) results.push(await run(n, true));
const base = results[0].perSecond;
console.log(
  `${objects} objects, reconcile ${waitMs} ms, ${workers} workers per replica`,
);
console.log(
  "| mode | replicas | drain s | objects/s | × leader-only | reconciles started |",
);
console.log(
  "| ---- | -------- | ------- | --------- | ------------- | ------------------ |",
);
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.replicas} | ${r.seconds.toFixed(1)} | ${
      r.perSecond.toFixed(0)
    } | ${(r.perSecond / base).toFixed(2)} | ${r.calls} |`,
  );
  reportRow({
    name: `sharding drain, ${r.mode}, ${r.replicas} replicas`,
    unit: "objects/s",
    ours: r.perSecond,
    ...(r === results[0] ? {} : {
      baseline: base,
      baselineName: "leader-only, 3 replicas",
    }),
    better: "higher",
  });
}
