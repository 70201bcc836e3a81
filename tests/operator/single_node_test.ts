import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
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
    const [env] = clusterEnv(await freePorts(3));
    const running = await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger: silentLogger,
    }).start();
    try {
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
    } finally {
      await running.stop();
      await running.finished;
    }
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
    const [env] = clusterEnv(await freePorts(1), {
      KUBECONFIG: `${credentials}:${contexts}`,
    });
    const namespaces: ResourceType = {
      group: "",
      version: "v1",
      plural: "namespaces",
      kind: "Namespace",
      namespaced: false,
    };
    const seen: string[] = [];
    const running = await Operator.fromEnv({
      env,
      hostname: "127.0.0.1",
      signals: false,
      logger: silentLogger,
    }).controller<KubeObject>(namespaces, {
      reconcile: (_object, ctx) => {
        seen.push(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }).start();
    try {
      await eventually(
        "the test server's default namespace reconciled",
        () => seen.includes("default"),
      );
    } finally {
      await running.stop();
      await running.finished;
    }
  });

  it("keeps its term and log in RAFT_DATA_DIR across a restart", async () => {
    const [env] = clusterEnv(await freePorts(1), { RAFT_DATA_DIR: dir });
    const start = () =>
      Operator.fromEnv({
        env,
        kubeConfig: server.kubeConfig(),
        hostname: "127.0.0.1",
        signals: false,
        logger: silentLogger,
      }).start();
    const first = await start();
    await eventually("leadership", () => first.node.isLeader());
    await first.kv.put("site", "blog");
    const term = first.status().term;
    const incarnation = first.status().incarnation;
    await first.stop();
    await first.finished;
    assert.ok((await readdir(dir)).includes("wal.log"));
    assert.ok((await readdir(dir)).includes("incarnation"));

    const second = await start();
    try {
      assert.ok(second.status().term >= term);
      assert.equal(
        second.status().incarnation,
        incarnation,
        "the same storage, the same incarnation",
      );
      await eventually("leadership again", () => second.node.isLeader());
      await eventually(
        "the replicated value replayed",
        async () => (await second.kv.get("site")) === "blog",
      );
      await eventually("readiness", () => second.readiness().ready);
    } finally {
      await second.stop();
      await second.finished;
    }
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
    const configMaps: ResourceType = {
      group: "",
      version: "v1",
      plural: "configmaps",
      kind: "ConfigMap",
      namespaced: true,
    };
    await client.create(namespaces, { metadata: { name: "web" } });
    const [env] = clusterEnv(await freePorts(1), { WATCH_NAMESPACE: "web" });
    const seen: string[] = [];
    const running = await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger: silentLogger,
    }).controller<KubeObject>(configMaps, {
      labelSelector: "watch-test=yes",
      reconcile: (_object, ctx) => {
        seen.push(ctx.key);
        return Promise.resolve(ReconcileResult.done());
      },
    }).start();
    try {
      for (const namespace of ["default", "web"]) {
        await client.create(configMaps, {
          metadata: {
            name: "settings",
            namespace,
            labels: { "watch-test": "yes" },
          },
        });
      }
      await eventually(
        "web/settings reconciled",
        () => seen.includes("web/settings"),
      );
      assert.deepEqual(seen.filter((k) => k.startsWith("default/")), []);
    } finally {
      await running.stop();
      await running.finished;
    }
  });

  it("fails to start on a taken HTTP port, and releases the Raft port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve)
    );
    const taken = (blocker.address() as { port: number }).port;
    const [env] = clusterEnv(await freePorts(1));
    const options = {
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger: silentLogger,
    };
    try {
      await assert.rejects(
        Operator.fromEnv({
          ...options,
          env: { ...env, OPERATOR_HTTP_PORT: String(taken) },
        }).start(),
        (error: Error) => /in use/i.test(`${error.name} ${error.message}`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const again = await Operator.fromEnv({ ...options, env }).start();
    await again.stop();
    await again.finished;
  });
});
