import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TestApiServer } from "../../testing/mod.ts";
import { Operator, ReconcileResult, type ResourceType } from "../../mod.ts";
import { clusterEnv, freePorts, recordingLogger } from "./_helpers.ts";
import { configMaps } from "../../testing/resource_types.ts";

const deployments: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  kind: "Deployment",
  namespaced: true,
};

describe("the operator's start", () => {
  let server: TestApiServer;
  before(async () => {
    server = await TestApiServer.start();
  });
  after(async () => {
    await server.stop();
  });

  it("logs once which namespaces each controller watches", async () => {
    const [env] = clusterEnv(await freePorts(1), { WATCH_NAMESPACE: "ops" });
    const { logger, lines } = recordingLogger();
    const running = await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger,
    })
      .controller(configMaps, {
        reconcile: () => Promise.resolve(ReconcileResult.done()),
      })
      .controller(deployments, {
        namespace: "web",
        reconcile: () => Promise.resolve(ReconcileResult.done()),
      })
      .start();
    await running.stop();
    const watching = lines.filter((l) => l.message.startsWith("watching"));
    assert.equal(watching.length, 1);
    assert.equal(
      watching[0].message,
      "watching configmaps in namespace ops only (WATCH_NAMESPACE), deployments.apps in namespace web only",
    );
    assert.deepEqual(watching[0].fields?.namespaces, {
      configmaps: "ops",
      "deployments.apps": "web",
    });
  });

  it("says all namespaces when WATCH_NAMESPACE is empty", async () => {
    const [env] = clusterEnv(await freePorts(1), { WATCH_NAMESPACE: "" });
    const { logger, lines } = recordingLogger();
    const running = await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger,
    }).controller(configMaps, {
      reconcile: () => Promise.resolve(ReconcileResult.done()),
    })
      .start();
    await running.stop();
    assert.deepEqual(
      lines.filter((l) => l.message.startsWith("watching")).map((l) =>
        l.message
      ),
      ["watching configmaps in all namespaces"],
    );
  });
});
