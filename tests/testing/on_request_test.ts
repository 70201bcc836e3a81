import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HttpMethod, RequestContext } from "@kubernetes/client-node";
import { fetch as undiciFetch } from "undici";
import { type ReceivedRequest, TestApiServer } from "../../testing/mod.ts";

describe("TestApiServer onRequest", () => {
  it("records each authenticated request with its headers as it arrives, before a pause holds it or a fault fails it", async () => {
    const seen: ReceivedRequest[] = [];
    const first = Promise.withResolvers<ReceivedRequest>();
    await using server = await TestApiServer.start({
      onRequest: (request) => {
        seen.push(request);
        first.resolve(request);
      },
    });
    const url = `${server.url}/api/v1/namespaces/default/configmaps`;
    const headers = {
      authorization: `Bearer ${server.token}`,
      "content-type": "application/json",
      "x-sender": "replica-1",
    };
    const body = JSON.stringify({ metadata: { name: "a" } });
    // The runtime's fetch does not trust the test CA: send over the
    // kubeconfig's undici dispatcher, as client-node does.
    const context = new RequestContext(url, HttpMethod.GET);
    await server.kubeConfig().applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher();
    const send = (init: { method: string; headers: Record<string, string> }) =>
      undiciFetch(url, { ...init, body, dispatcher });

    server.faults.pause();
    const held = send({ method: "POST", headers });
    const arrived = await first.promise;
    assert.equal(arrived.method, "POST");
    assert.equal(new URL(arrived.url).pathname, new URL(url).pathname);
    assert.equal(arrived.headers.get("x-sender"), "replica-1");
    server.faults.resume();
    assert.equal((await held).status, 201);

    server.faults.failNext({ verb: "create", status: 500 });
    const failed = await send({ method: "POST", headers });
    await failed.text();
    assert.equal(failed.status, 500);
    assert.equal(seen.length, 2, "a request failed by a fault is recorded");

    const unauthorized = await send({
      method: "POST",
      headers: { ...headers, authorization: "Bearer wrong" },
    });
    await unauthorized.text();
    assert.equal(unauthorized.status, 401);
    assert.equal(seen.length, 2, "an unauthenticated request is not");
  });
});
