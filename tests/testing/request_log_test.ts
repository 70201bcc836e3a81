import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ReceivedRequest, TestApiServer } from "../../testing/mod.ts";
import { KubeClient } from "../../client/kube_client.ts";
import { configMaps } from "../../testing/resource_types.ts";

describe("TestApiServer onRequest", () => {
  it("reports each request as it arrives: method, path with query, client address — failed ones too", async () => {
    const seen: ReceivedRequest[] = [];
    await using server = await TestApiServer.start({
      onRequest: (request) => seen.push(request),
    });
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    await client.create(configMaps, {
      metadata: { name: "a", namespace: "default" },
    });
    server.faults.failNext({ verb: "list", status: 500 });
    await assert.rejects(
      client.list(configMaps, { namespace: "default", limit: 5 }),
    );
    assert.deepEqual(seen.map(({ method, path }) => ({ method, path })), [
      { method: "POST", path: "/api/v1/namespaces/default/configmaps" },
      { method: "GET", path: "/api/v1/namespaces/default/configmaps?limit=5" },
    ]);
    for (const request of seen) {
      assert.match(request.remoteAddress, /^(::ffff:)?127\.0\.0\.1$/);
    }
  });

  it("hands over the headers, and reports a request the pause holds before it is answered", async () => {
    const first = Promise.withResolvers<ReceivedRequest>();
    await using server = await TestApiServer.start({
      onRequest: (request) => first.resolve(request),
    });
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    server.faults.pause();
    const created = client.create(configMaps, {
      metadata: { name: "held", namespace: "default" },
    });
    const arrived = await first.promise;
    assert.equal(arrived.method, "POST");
    assert.equal(arrived.headers.get("content-type"), "application/json");
    assert.equal(
      arrived.headers.get("authorization"),
      `Bearer ${server.token}`,
    );
    server.faults.resume();
    assert.equal((await created).metadata.name, "held");
  });
});
