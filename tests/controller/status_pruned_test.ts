import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "typebox";
import { TestApiServer } from "../../testing/mod.ts";
import {
  KubeClient,
  type LogFields,
  type Logger,
} from "../../controller/mod.ts";
import { StatusCondition, StatusPatch } from "../../controller/status.ts";
import {
  Conditions,
  defineCustomResource,
  ObservedGeneration,
} from "../../crd/mod.ts";

const Bare = defineCustomResource({
  group: "pruned.example.com",
  version: "v1",
  kind: "Counter",
  scope: "Namespaced",
  spec: Type.Object({ count: Type.Integer() }),
  status: Type.Object({ total: Type.Optional(Type.Integer()) }),
});
const Full = defineCustomResource({
  group: "kept.example.com",
  version: "v1",
  kind: "Counter",
  scope: "Namespaced",
  spec: Type.Object({ count: Type.Integer() }),
  status: Type.Object({
    total: Type.Optional(Type.Integer()),
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
  }),
});

function warnings(): { logger: Logger; lines: [string, LogFields?][] } {
  const lines: [string, LogFields?][] = [];
  const ignore = () => {};
  return {
    lines,
    logger: {
      info: ignore,
      error: ignore,
      warn: (message, fields) => lines.push([message, fields]),
    },
  };
}

describe("StatusPatch against a CRD whose status schema lacks conditions", () => {
  let server: TestApiServer;
  let client: KubeClient;
  before(async () => {
    server = await TestApiServer.start();
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    await Bare.install(server.kubeConfig(), { fieldManager: "test" });
    await Full.install(server.kubeConfig(), { fieldManager: "test" });
  });
  after(async () => {
    await server.stop();
  });

  it("warns once, naming the CRD and the pruned fields", async () => {
    const { logger, lines } = warnings();
    const resource = Bare;
    let counter = await client.create(
      resource,
      Bare.build({
        metadata: { name: "c", namespace: "default" },
        spec: { count: 1 },
      }),
    );
    for (let i = 0; i < 3; i++) {
      const updated = await new StatusPatch(counter, {
        client,
        resource,
        logger,
      })
        .set("total", i + 1)
        .condition(StatusCondition.ready(true))
        .observedGeneration()
        .apply();
      assert.ok(
        updated !== null,
        "the conditions were pruned, so each patch is sent again",
      );
      assert.equal((updated.status as { total: number }).total, i + 1);
      counter = updated;
    }
    assert.equal(lines.length, 1);
    const [message, fields] = lines[0];
    assert.match(
      message,
      /^status written to counters\.pruned\.example\.com came back without status\.observedGeneration, status\.conditions/,
    );
    assert.match(message, /Conditions\(\), ObservedGeneration\(\)/);
    assert.deepEqual(fields?.missing, [
      "status.observedGeneration",
      "status.conditions",
    ]);
  });

  it("stays silent when the schema declares them (and the second patch is not sent)", async () => {
    const { logger, lines } = warnings();
    const resource = Full;
    const counter = await client.create(
      resource,
      Full.build({
        metadata: { name: "c", namespace: "default" },
        spec: { count: 1 },
      }),
    );
    const patch = (object: typeof counter) =>
      new StatusPatch(object, { client, resource, logger })
        .condition(StatusCondition.ready(true))
        .observedGeneration()
        .apply();
    const updated = await patch(counter);
    assert.ok(updated !== null);
    assert.equal(await patch(updated), null);
    assert.deepEqual(lines, []);
  });
});
