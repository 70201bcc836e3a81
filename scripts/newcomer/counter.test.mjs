// node --test: three replicas of main.mjs against the in-process test API
// server; the leader counts, then dies, and another takes over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startReplicas, TestApiServer } from "k8s-operator/testing";
import { Counter } from "./counter.mjs";

test("three replicas count, and another counts when the leader dies", async () => {
  const server = await TestApiServer.start();
  await Counter.install(server.kubeConfig(), { fieldManager: "test" });
  const replicas = await startReplicas({
    controlPlane: server,
    main: new URL("./main.mjs", import.meta.url),
  });
  try {
    const leader = await replicas.waitForLeader();
    await replicas.client.create(
      Counter,
      Counter.build({
        metadata: { name: "c", namespace: "default" },
        spec: { target: 3 },
      }),
    );
    const target = { resource: Counter, name: "c", namespace: "default" };
    const counted = await replicas.waitForCondition(target, { type: "Ready" });
    assert.equal(counted.status.count, 3);

    await replicas.kill(leader.id); // SIGKILL
    const next = await replicas.waitForLeader({
      not: leader.id,
      after: leader.term,
    });
    await replicas.client.patch(Counter, "c", { spec: { target: 5 } }, {
      namespace: "default",
    });
    const recounted = await replicas.waitForCondition(target, {
      type: "Ready",
      where: (c) => c.status.count === 5,
    });
    assert.match(
      recounted.status.conditions[0].message,
      new RegExp(`by replica ${next.id}$`),
    );
  } finally {
    // Node 22 has no `await using`: stop explicitly.
    await replicas.stop();
    await server.stop();
  }
});
