import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ReplicaHarnessError,
  type ReplicaOptions,
  startReplicas,
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import {
  KubeClient,
  type KubeObject,
  type LogFields,
  Operator,
  ReconcileResult,
  type ResourceType,
  silentLogger,
} from "../../mod.ts";
import { clusterEnv, eventually, freePorts } from "./_helpers.ts";
import { legacySnapshot, legacyWal } from "../raft/_fixture_0_1_0.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";
import { configMaps } from "../../testing/resource_types.ts";

/** Replicas in this process on `server`, built by `operator`. */
function replicasOn(
  server: TestControlPlane,
  options: Omit<ReplicaOptions, "controlPlane">,
) {
  return startReplicas({
    controlPlane: server,
    // Only bounds waiting, on a shared 2-core machine.
    timeoutMs: 30_000,
    ...options,
  });
}

describe(`an operator on its own [${plane.kind}]`, {
  skip: skipUnlessRunnable("the single-operator tests"),
}, () => {
  let server: TestControlPlane;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "operator-node-"));
    server = await startTestControlPlane({ kind: plane.kind });
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("is alive but not ready while it cannot reach a quorum", async () => {
    // One of three members: no quorum.
    await using replicas = await replicasOn(server, {
      replicas: 3,
      initial: 1,
      operator: (options) => Operator.fromEnv(options),
    });
    const running = replicas.running(0)!;
    const url = `http://127.0.0.1:${running.httpPort}`;
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^No leader known in term \d+/);
    assert.equal(running.readiness().ready, false);
    assert.equal(
      (await fetch(`${url}/healthz`, { method: "POST" })).status,
      405,
    );
  });

  it("talks to the cluster a KUBECONFIG of several files describes, merged as kubectl merges them", async () => {
    // One file with the cluster and the user, one with the context: each
    // alone names no usable current cluster.
    const full = JSON.parse(server.kubeConfigYaml());
    const credentials = join(dir, "credentials.json");
    const contexts = join(dir, "contexts.json");
    await writeFile(
      credentials,
      JSON.stringify({ ...full, contexts: [], "current-context": "" }),
    );
    await writeFile(
      contexts,
      JSON.stringify({ ...full, clusters: [], users: [] }),
    );
    const namespaces: ResourceType = {
      group: "",
      version: "v1",
      plural: "namespaces",
      kind: "Namespace",
      namespaced: false,
    };
    const seen: string[] = [];
    await using replicas = await replicasOn(server, {
      replicas: 1,
      // No kubeConfig object: the operator reads KUBECONFIG itself.
      operator: (options) =>
        Operator.fromEnv({
          ...options,
          kubeConfig: undefined,
          env: { ...options.env, KUBECONFIG: `${credentials}:${contexts}` },
        }).controller<KubeObject>(namespaces, {
          reconcile: (_object, ctx) => {
            seen.push(ctx.key);
            return Promise.resolve(ReconcileResult.done());
          },
        }),
    });
    await replicas.waitFor(
      "the test server's default namespace reconciled",
      () => seen.includes("default"),
    );
  });

  it("keeps its term and log in RAFT_DATA_DIR across a restart", async () => {
    await using replicas = await replicasOn(server, {
      replicas: 1,
      env: { RAFT_DATA_DIR: dir },
      operator: (options) => Operator.fromEnv(options),
    });
    const first = replicas.running(0)!;
    await replicas.waitFor("leadership", () => first.node.isLeader());
    await first.kv.put("site", "blog");
    const term = first.status().term;
    const incarnation = first.status().incarnation;
    await replicas.stop(0);
    assert.ok((await readdir(dir)).includes("wal.log"));
    assert.ok((await readdir(dir)).includes("incarnation"));

    await replicas.start(0);
    const second = replicas.running(0)!;
    assert.notEqual(second, first);
    assert.ok(second.status().term >= term);
    assert.equal(
      second.status().incarnation,
      incarnation,
      "the same storage, the same incarnation",
    );
    await replicas.waitFor("leadership again", () => second.node.isLeader());
    await replicas.waitFor(
      "the replicated value replayed",
      async () => (await second.kv.get("site")) === "blog",
    );
    await replicas.waitFor("readiness", () => second.readiness().ready);
  });

  it("sets the Raft state of k8s-operator 0.1.0 aside and leads a new cluster", async () => {
    const data = join(dir, "raft-0.1.0");
    await mkdir(data);
    await writeFile(join(data, "wal.log"), legacyWal);
    await writeFile(join(data, "snapshot.bin"), legacySnapshot);
    const [env] = clusterEnv(await freePorts(1), { RAFT_DATA_DIR: data });
    const warnings: { message: string; fields?: LogFields }[] = [];
    const running = await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger: {
        ...silentLogger,
        warn: (message, fields) => warnings.push({ message, fields }),
      },
    }).start();
    try {
      await eventually("leadership", () => running.node.isLeader());
      const aside = join(data, "k8s-operator-0.1.0");
      assert.ok(
        warnings.some((w) =>
          /state of k8s-operator 0\.1\.0/.test(w.message) &&
          w.fields?.aside === aside
        ),
        JSON.stringify(warnings),
      );
      assert.deepEqual((await readdir(aside)).sort(), [
        "snapshot.bin",
        "wal.log",
      ]);
      assert.equal(running.status().conf.voters.length, 1);
    } finally {
      await running.stop();
      await running.finished;
    }
  });

  it("watches only WATCH_NAMESPACE when it is set", async () => {
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    const namespaces: ResourceType = {
      group: "",
      version: "v1",
      plural: "namespaces",
      kind: "Namespace",
      namespaced: false,
    };
    await client.create(namespaces, { metadata: { name: "web" } });
    const seen: string[] = [];
    await using replicas = await replicasOn(server, {
      replicas: 1,
      env: { WATCH_NAMESPACE: "web" },
      operator: (options) =>
        Operator.fromEnv(options).controller<KubeObject>(configMaps, {
          labelSelector: "watch-test=yes",
          reconcile: (_object, ctx) => {
            seen.push(ctx.key);
            return Promise.resolve(ReconcileResult.done());
          },
        }),
    });
    for (const namespace of ["default", "web"]) {
      await client.create(configMaps, {
        metadata: {
          name: "settings",
          namespace,
          labels: { "watch-test": "yes" },
        },
      });
    }
    await replicas.waitFor(
      "web/settings reconciled",
      () => seen.includes("web/settings"),
    );
    assert.deepEqual(seen.filter((k) => k.startsWith("default/")), []);
  });

  it("fails to start on a taken HTTP port, and releases the Raft port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve)
    );
    const taken = (blocker.address() as { port: number }).port;
    let httpPort = String(taken);
    await using replicas = await replicasOn(server, {
      replicas: 1,
      initial: 0,
      operator: (options) =>
        Operator.fromEnv({
          ...options,
          env: { ...options.env, OPERATOR_HTTP_PORT: httpPort },
        }),
    });
    try {
      await assert.rejects(
        replicas.start(0),
        (error: Error) =>
          error instanceof ReplicaHarnessError &&
          /in use/i.test(`${error.name} ${error.message}`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    assert.equal(replicas.running(0), null);
    // Again on the same Raft port, which the failed start released.
    httpPort = "0";
    await replicas.start(0);
    assert.equal(replicas.running(0)?.raftPort, replicas.state(0).raftPort);
  });
});
