import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  FencedError,
  isApiError,
  resourcePath,
  type ResourceType,
} from "../../controller/client.ts";
import { recordingClient } from "./_helpers.ts";

const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const nodes: ResourceType = {
  group: "",
  version: "v1",
  plural: "nodes",
  kind: "Node",
  namespaced: false,
};

describe("KubeClient", () => {
  it("builds namespaced, cluster-scoped and subresource paths", () => {
    assert.equal(
      resourcePath(widgets, {
        namespace: "a",
        name: "w",
        subresource: "status",
      }),
      "/apis/example.com/v1/namespaces/a/widgets/w/status",
    );
    assert.equal(resourcePath(widgets), "/apis/example.com/v1/widgets");
    assert.equal(resourcePath(nodes, { name: "n1" }), "/api/v1/nodes/n1");
  });

  it("refuses a namespaced object without a namespace instead of using a cluster-scoped URL", () => {
    assert.throws(
      () => resourcePath(widgets, { name: "w" }),
      /Expected a namespace for namespaced Widget w/,
    );
  });

  it("sends each patch flavour with its own content type", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: {} },
    }));
    await client.patch(widgets, "w", { a: 1 }, { namespace: "n" });
    await client.patch(widgets, "w", [], { namespace: "n", type: "json" });
    await client.patch(widgets, "w", {}, {
      namespace: "n",
      type: "apply",
      fieldManager: "me",
    });
    assert.deepEqual(requests.map((r) => r.contentType), [
      "application/merge-patch+json",
      "application/json-patch+json",
      "application/apply-patch+yaml",
    ]);
  });

  it("turns a Status answer into an ApiError with code and reason", async () => {
    const { client } = recordingClient(() => ({
      status: 409,
      body: { kind: "Status", reason: "Conflict", message: "stale" },
    }));
    await assert.rejects(client.get(widgets, "w", { namespace: "n" }), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 409);
      assert.equal(e.reason, "Conflict");
      assert.ok(isApiError(e, 409));
      assert.match(e.message, /HTTP 409 Conflict: stale/);
      return true;
    });
  });

  it("reports a body that is not JSON as a clear error", async () => {
    const { client } = recordingClient(() => ({
      status: 200,
      body: undefined,
    }));
    await assert.rejects(
      client.get(widgets, "w", { namespace: "n" }),
      /expected a JSON body/,
    );
  });

  it("fails every request of a fenced client once its signal aborted, without sending it", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: {} },
    }));
    const term = new AbortController();
    const fenced = client.fenced(term.signal);
    await fenced.get(widgets, "w", { namespace: "n" });
    term.abort();
    await assert.rejects(
      fenced.patch(widgets, "w", {}, { namespace: "n" }),
      FencedError,
    );
    assert.equal(requests.length, 1);
    await client.get(widgets, "w", { namespace: "n" });
    assert.equal(requests.length, 2, "the unfenced client still works");
  });
});
