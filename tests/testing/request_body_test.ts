import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TestApiServer } from "../../testing/mod.ts";
import { ApiError } from "../../client/errors.ts";
import { KubeClient } from "../../client/kube_client.ts";
import type { KubeObject } from "../../client/objects.ts";
import { configMaps } from "../../testing/resource_types.ts";

async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

// Regression: on Node, the server streamed request bodies through
// `Readable.toWeb(req)`; answering a fault without reading the body made the
// parser throw ERR_INVALID_STATE, so the client got `400 Bad Request` on a
// kept-alive connection and the process saw an uncaught exception.
describe("TestApiServer request bodies the handler does not read", () => {
  let server: TestApiServer;
  let client: KubeClient;
  before(async () => {
    server = await TestApiServer.start();
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    await client.create(configMaps, {
      metadata: { name: "big", namespace: "default" },
    });
  });
  after(async () => {
    await server.stop();
  });

  it("answers injected faults on large patches with the injected status and keeps the connection usable", async () => {
    const data = { blob: "x".repeat(256 * 1024) };
    server.faults.failNext({
      verb: "patch",
      resource: "configmaps",
      status: 409,
      count: 12,
    });
    const statuses = await Promise.all(
      Array.from({ length: 12 }, () =>
        statusOf(
          client.patch(configMaps, "big", { data }, { namespace: "default" }),
        )),
    );
    assert.deepEqual(statuses, Array(12).fill(409));
    const after = await client.patch<KubeObject & { data: typeof data }>(
      configMaps,
      "big",
      { data },
      { namespace: "default" },
    );
    assert.equal(after.data.blob.length, data.blob.length);
  });

  it("answers 413 to a body over the limit and then serves the next request", async () => {
    const data = { blob: "x".repeat(5 * 1024 * 1024) };
    const status = await statusOf(
      client.patch(configMaps, "big", { data }, { namespace: "default" }),
    );
    assert.equal(status, 413);
    const live = await client.get(configMaps, "big", { namespace: "default" });
    assert.equal(live.metadata.name, "big");
  });
});
