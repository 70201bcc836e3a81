import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiError, FencedError, isApiError } from "../../client/errors.ts";
import { KubeClient } from "../../client/kube_client.ts";
import { resourcePath, type ResourceType } from "../../client/objects.ts";
import { ManualClock } from "../../common/clock.ts";
import { flush, recordingClient } from "./_helpers.ts";

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

describe("KubeClient fencing at send time", () => {
  it("checks the fence's check function synchronously right before the transport, and sends nothing once it throws", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: {} },
    }));
    let leading = true;
    const fenced = client.fenced(new AbortController().signal, {
      check: () => {
        if (!leading) throw new Error("lease expired");
      },
    });
    await fenced.get(widgets, "w", { namespace: "n" });
    leading = false;
    await assert.rejects(
      fenced.patch(widgets, "w", {}, { namespace: "n" }),
      (error) => {
        assert.ok(error instanceof FencedError);
        assert.match(error.message, /PATCH .*: lease expired/);
        return true;
      },
    );
    assert.equal(requests.length, 1);
  });

  it("hands the check to the transport, which runs it after its own awaits", async () => {
    let release!: () => void;
    const refreshed = new Promise<void>((resolve) => release = resolve);
    const sent: string[] = [];
    const client = new KubeClient({
      server: "http://fake.invalid",
      transport: async (method, url, init) => {
        await refreshed; // e.g. refreshing credentials
        init.checkFence?.();
        sent.push(`${method} ${new URL(url).pathname}`);
        return Response.json({ metadata: {} });
      },
    });
    let leading = true;
    const fenced = client.fenced(new AbortController().signal, {
      check: () => {
        if (!leading) throw new Error("lease expired");
      },
    });
    const write = fenced.patch(widgets, "w", {}, { namespace: "n" });
    leading = false; // the lease runs out while the transport awaits
    release();
    await assert.rejects(write, FencedError);
    assert.deepEqual(sent, []);
  });
});

describe("KubeClient preconditions, delete options and headers", () => {
  it("adds a resourceVersion precondition to merge, apply and JSON patches", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: {} },
    }));
    await client.patch(widgets, "w", { spec: { a: 1 } }, {
      namespace: "n",
      resourceVersion: "41",
    });
    await client.patch(widgets, "w", [{
      op: "replace",
      path: "/spec/a",
      value: 2,
    }], { namespace: "n", type: "json", resourceVersion: "42" });
    assert.deepEqual(requests[0]!.body, {
      spec: { a: 1 },
      metadata: { resourceVersion: "41" },
    });
    assert.deepEqual(requests[1]!.body, [
      { op: "test", path: "/metadata/resourceVersion", value: "42" },
      { op: "replace", path: "/spec/a", value: 2 },
    ]);
    assert.throws(
      () =>
        client.patch(widgets, "w", "text", {
          namespace: "n",
          resourceVersion: "1",
        }),
      /Expected a merge patch to be an object/,
    );
  });

  it("sends propagationPolicy, preconditions, grace period and dry run in a DeleteOptions body", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { kind: "Status" },
    }));
    await client.delete(widgets, "w", { namespace: "n" });
    await client.delete(widgets, "w", {
      namespace: "n",
      propagationPolicy: "Foreground",
      preconditions: { uid: "u-1", resourceVersion: "9" },
      gracePeriodSeconds: 0,
      dryRun: true,
    });
    assert.equal(requests[0]!.body, undefined);
    assert.deepEqual(requests[1]!.body, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Foreground",
      preconditions: { uid: "u-1", resourceVersion: "9" },
      gracePeriodSeconds: 0,
      dryRun: ["All"],
    });
  });

  it("sends a User-Agent naming k8s-operator and its version, or the one given", async () => {
    const agents: string[] = [];
    const transport = (
      _method: string,
      _url: string,
      init: { headers: Record<string, string> },
    ) => {
      agents.push(init.headers["user-agent"]!);
      return Promise.resolve(Response.json({ metadata: {} }));
    };
    await new KubeClient({ server: "http://x.invalid", transport }).get(
      widgets,
      "w",
      { namespace: "n" },
    );
    await new KubeClient({
      server: "http://x.invalid",
      transport,
      userAgent: "widget-operator/2.0",
    }).fenced(new AbortController().signal).get(widgets, "w", {
      namespace: "n",
    });
    assert.match(agents[0]!, /^k8s-operator\/0\.1\.0 \(\w+\/\w+\) \S+/);
    assert.equal(agents[1], "widget-operator/2.0");
  });
});

describe("KubeClient rate limit", () => {
  it("sends nothing over qps and burst: the burst at once, then one per 1/qps on the clock, shared by fenced views", async () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const client = new KubeClient({
      server: "http://x.invalid",
      clock,
      rateLimit: { qps: 2, burst: 2 },
      transport: () => {
        sent.push(clock.now());
        return Promise.resolve(Response.json({ metadata: {} }));
      },
    });
    assert.deepEqual(client.rateLimit, { qps: 2, burst: 2 });
    const fenced = client.fenced(new AbortController().signal);
    const all = [
      client.get(widgets, "a", { namespace: "n" }),
      fenced.get(widgets, "b", { namespace: "n" }),
      fenced.get(widgets, "c", { namespace: "n" }),
      client.get(widgets, "d", { namespace: "n" }),
    ];
    await flush(20);
    assert.deepEqual(sent, [0, 0]);
    clock.advance(500);
    await flush(20);
    assert.deepEqual(sent, [0, 0, 500]);
    clock.advance(500);
    await Promise.all(all);
    assert.deepEqual(sent, [0, 0, 500, 1000]);
    assert.equal(
      new KubeClient({
        server: "http://x.invalid",
        transport: () => Promise.reject(),
      })
        .rateLimit,
      null,
      "off by default",
    );
  });

  it("checks the fence after the rate limiter's wait", async () => {
    const clock = new ManualClock();
    const sent: string[] = [];
    const client = new KubeClient({
      server: "http://x.invalid",
      clock,
      rateLimit: { qps: 1, burst: 1 },
      transport: (_m, url) => {
        sent.push(new URL(url).pathname);
        return Promise.resolve(Response.json({ metadata: {} }));
      },
    });
    const term = new AbortController();
    const fenced = client.fenced(term.signal);
    await fenced.get(widgets, "a", { namespace: "n" });
    const waiting = fenced.get(widgets, "b", { namespace: "n" });
    await flush(10);
    term.abort();
    clock.advance(1000);
    await assert.rejects(waiting, FencedError);
    assert.deepEqual(sent, ["/apis/example.com/v1/namespaces/n/widgets/a"]);
  });
});
