import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { Type } from "typebox";
import {
  ApiError,
  defineCustomResource,
  MalformedResponseError,
  ValidationError,
} from "../../crd/mod.ts";

const Website = defineCustomResource({
  group: "example.k8s-operator.dev",
  version: "v1",
  kind: "Website",
  scope: "Namespaced",
  spec: Type.Object({
    domain: Type.String(),
    replicas: Type.Integer({ minimum: 1 }),
  }),
  status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
});

const Zone = defineCustomResource({
  group: "example.k8s-operator.dev",
  version: "v1",
  kind: "Zone",
  scope: "Cluster",
  spec: Type.Object({ region: Type.String() }),
});

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = (req: Seen, res: http.ServerResponse) => void;

const seen: Seen[] = [];
let reply: Reply = () => {};
let server: http.Server;
let kubeConfig: KubeConfig;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function site(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "example.k8s-operator.dev/v1",
    kind: "Website",
    metadata: { name, namespace: "team", resourceVersion: "7", ...extra },
    spec: { domain: `${name}.example.com`, replicas: 1 },
  };
}

const echo: Reply = (_req, res) => json(res, 200, site("blog"));

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(entry);
      reply(entry, res);
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as AddressInfo;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{
      name: "fake",
      server: `http://127.0.0.1:${port}`,
      skipTLSVerify: true,
    }],
    users: [{ name: "me", token: "s3cret" }],
    contexts: [{ name: "ctx", cluster: "fake", user: "me", namespace: "team" }],
    currentContext: "ctx",
  });
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  reply = echo;
});

describe("ResourceClient URLs and headers", () => {
  it("gets from the namespaced URL with the kubeconfig's credentials", async () => {
    const websites = Website.client(kubeConfig);
    const got = await websites.get("blog", { namespace: "web" });
    assert.equal(got.metadata.name, "blog");
    assert.equal(seen[0].method, "GET");
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/web/websites/blog",
    );
    assert.equal(seen[0].headers.authorization, "Bearer s3cret");
    assert.equal(seen[0].headers.accept, "application/json");
  });

  it("uses the context's namespace when the call names none", async () => {
    await Website.client(kubeConfig).get("blog");
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/team/websites/blog",
    );
    await Website.client(kubeConfig, { namespace: "other" }).get("blog");
    assert.match(seen[1].url, /\/namespaces\/other\/websites\/blog$/);
  });

  it("uses cluster URLs for cluster-scoped kinds and refuses a namespace", async () => {
    reply = (_req, res) =>
      json(res, 200, {
        apiVersion: Zone.apiVersion,
        kind: "Zone",
        metadata: { name: "eu" },
        spec: { region: "eu" },
      });
    const zones = Zone.client(kubeConfig);
    await zones.get("eu");
    assert.equal(seen[0].url, "/apis/example.k8s-operator.dev/v1/zones/eu");
    await assert.rejects(
      () => zones.get("eu", { namespace: "x" }),
      /Expected no namespace for the cluster-scoped Zone, found "x"/,
    );
    assert.equal(seen.length, 1);
  });

  it("lists with selectors, in a namespace or in all of them", async () => {
    reply = (_req, res) =>
      json(res, 200, {
        apiVersion: "example.k8s-operator.dev/v1",
        kind: "WebsiteList",
        metadata: { resourceVersion: "42", continue: "next" },
        items: [{ metadata: { name: "a" }, spec: {} }],
      });
    const websites = Website.client(kubeConfig);
    const list = await websites.list({ labelSelector: "app=web", limit: 10 });
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/team/websites?labelSelector=app%3Dweb&limit=10",
    );
    assert.equal(list.metadata.resourceVersion, "42");
    assert.equal(list.metadata.continue, "next");
    assert.equal(list.items[0].kind, "Website");
    assert.equal(list.items[0].apiVersion, "example.k8s-operator.dev/v1");
    await websites.list({ allNamespaces: true });
    assert.equal(seen[1].url, "/apis/example.k8s-operator.dev/v1/websites");
  });
});

describe("ResourceClient writes", () => {
  it("validates before creating and sends nothing when invalid", async () => {
    const websites = Website.client(kubeConfig);
    await assert.rejects(
      () =>
        websites.create(
          Website.build({
            metadata: { name: "blog" },
            spec: { domain: "x", replicas: 0 },
          }),
        ),
      (e: unknown) =>
        e instanceof ValidationError && e.fields[0].path === "spec.replicas",
    );
    assert.equal(seen.length, 0);
  });

  it("creates with POST into the object's namespace", async () => {
    const object = Website.build({
      metadata: { name: "blog", namespace: "web" },
      spec: { domain: "x", replicas: 1 },
    });
    await Website.client(kubeConfig).create(object, { fieldManager: "op" });
    assert.equal(seen[0].method, "POST");
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/web/websites?fieldManager=op",
    );
    assert.equal(seen[0].headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(seen[0].body), object);
  });

  it("refuses an object namespace that contradicts the option", async () => {
    const object = Website.build({
      metadata: { name: "blog", namespace: "web" },
      spec: { domain: "x", replicas: 1 },
    });
    await assert.rejects(
      () => Website.client(kubeConfig).create(object, { namespace: "other" }),
      /metadata.namespace and the namespace option to agree/,
    );
  });

  it("replaces with PUT on the object's URL", async () => {
    const object = site("blog");
    await Website.client(kubeConfig).replace(object);
    assert.equal(seen[0].method, "PUT");
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/team/websites/blog",
    );
    assert.equal(JSON.parse(seen[0].body).metadata.resourceVersion, "7");
  });

  it("sends each patch type with its Content-Type", async () => {
    const websites = Website.client(kubeConfig);
    await websites.patch("blog", { spec: { replicas: 3 } });
    await websites.patch("blog", [{
      op: "replace",
      path: "/spec/replicas",
      value: 3,
    }], { type: "json" });
    await websites.patch("blog", { spec: { replicas: 3 } }, {
      type: "apply",
      fieldManager: "op",
      force: true,
    });
    assert.deepEqual(seen.map((s) => s.headers["content-type"]), [
      "application/merge-patch+json",
      "application/json-patch+json",
      "application/apply-patch+yaml",
    ]);
    assert.ok(seen.every((s) => s.method === "PATCH"));
    assert.match(seen[2].url, /\/websites\/blog\?fieldManager=op&force=true$/);
    assert.deepEqual(JSON.parse(seen[2].body), {
      spec: { replicas: 3 },
      apiVersion: "example.k8s-operator.dev/v1",
      kind: "Website",
      metadata: { name: "blog" },
    });
  });

  it("refuses malformed patches before sending", async () => {
    const websites = Website.client(kubeConfig);
    await assert.rejects(
      () => websites.patch("blog", { spec: {} }, { type: "apply" }),
      /Expected a fieldManager for a server-side apply patch/,
    );
    await assert.rejects(
      () =>
        websites.patch("blog", [{ op: "bogus", path: "/a" }], { type: "json" }),
      /invalid operation at index 0/,
    );
    await assert.rejects(
      () => websites.patch("blog", [1, 2]),
      /Expected a merge patch to be an object, found array/,
    );
    assert.equal(seen.length, 0);
  });

  it("patches the status subresource", async () => {
    await Website.client(kubeConfig).patchStatus("blog", {
      status: { readyReplicas: 1 },
    });
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/team/websites/blog/status",
    );
    assert.equal(
      seen[0].headers["content-type"],
      "application/merge-patch+json",
    );
  });

  it("deletes with options and returns the object while finalizers hold it", async () => {
    const websites = Website.client(kubeConfig);
    reply = (_req, res) =>
      json(
        res,
        200,
        site("blog", { deletionTimestamp: "2024-01-01T00:00:00Z" }),
      );
    const held = await websites.delete("blog", {
      propagationPolicy: "Foreground",
      preconditions: { resourceVersion: "7" },
    });
    assert.equal(held?.metadata.deletionTimestamp, "2024-01-01T00:00:00Z");
    assert.equal(seen[0].method, "DELETE");
    assert.deepEqual(JSON.parse(seen[0].body), {
      apiVersion: "v1",
      kind: "DeleteOptions",
      propagationPolicy: "Foreground",
      preconditions: { resourceVersion: "7" },
    });
    reply = (_req, res) =>
      json(res, 200, { kind: "Status", status: "Success" });
    assert.equal(await websites.delete("blog"), undefined);
  });
});

describe("ResourceClient errors", () => {
  it("turns a Status into an ApiError with reason and code", async () => {
    reply = (_req, res) =>
      json(res, 404, {
        kind: "Status",
        status: "Failure",
        reason: "NotFound",
        code: 404,
        message: 'websites.example.k8s-operator.dev "gone" not found',
      });
    await assert.rejects(
      () => Website.client(kubeConfig).get("gone"),
      (e: unknown) => {
        assert.ok(e instanceof ApiError);
        assert.equal(e.status, 404);
        assert.equal(e.reason, "NotFound");
        assert.equal(
          e.message,
          'Expected a successful response, found HTTP 404 NotFound: websites.example.k8s-operator.dev "gone" not found',
        );
        return true;
      },
    );
  });

  it("makes an ApiError from a body that is not a Status", async () => {
    reply = (_req, res) => {
      res.writeHead(503);
      res.end("upstream down");
    };
    await assert.rejects(
      () => Website.client(kubeConfig).get("blog"),
      (e: unknown) =>
        e instanceof ApiError && e.status === 503 && e.reason === undefined &&
        /upstream down$/.test(e.message),
    );
  });

  it("refuses a body that is not JSON or not the kind", async () => {
    reply = (_req, res) => {
      res.writeHead(200);
      res.end("<html>");
    };
    await assert.rejects(
      () => Website.client(kubeConfig).get("blog"),
      (e: unknown) =>
        e instanceof ApiError && e.reason === "MalformedResponse" &&
        /expected a JSON body, found "<html>"/.test(e.message),
    );
    reply = (_req, res) => json(res, 200, { kind: "ConfigMap" });
    await assert.rejects(
      () => Website.client(kubeConfig).get("blog"),
      /expected a Website object, found kind "ConfigMap"/,
    );
  });
});

describe("ResourceClient timeouts", () => {
  it("gives up on a request the server does not answer", async () => {
    reply = () => {};
    await assert.rejects(
      () => Website.client(kubeConfig, { requestTimeoutMs: 50 }).get("blog"),
      (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
    );
  });
});

describe("ResourceClient watch", () => {
  it("yields the events of one watch request", async () => {
    reply = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(JSON.stringify({ type: "ADDED", object: site("a") }) + "\n");
      res.write(JSON.stringify({ type: "MODIFIED", object: site("a") }) + "\n");
      res.write(
        JSON.stringify({
          type: "BOOKMARK",
          object: { kind: "Website", metadata: { resourceVersion: "9" } },
        }) + "\n",
      );
      res.end(JSON.stringify({ type: "DELETED", object: site("a") }) + "\n");
    };
    const events = [];
    for await (
      const event of Website.client(kubeConfig).watch({
        resourceVersion: "5",
        allowWatchBookmarks: true,
      })
    ) {
      events.push(`${event.type} ${event.object.metadata.resourceVersion}`);
    }
    assert.deepEqual(events, [
      "ADDED 7",
      "MODIFIED 7",
      "BOOKMARK 9",
      "DELETED 7",
    ]);
    assert.equal(
      seen[0].url,
      "/apis/example.k8s-operator.dev/v1/namespaces/team/websites?watch=true&resourceVersion=5&allowWatchBookmarks=true",
    );
  });

  it("throws an ApiError on an ERROR event such as 410 Gone", async () => {
    reply = (_req, res) => {
      res.writeHead(200);
      res.end(
        JSON.stringify({
          type: "ERROR",
          object: {
            kind: "Status",
            code: 410,
            reason: "Expired",
            message: "too old resource version: 5 (9)",
          },
        }) + "\n",
      );
    };
    await assert.rejects(
      async () => {
        for await (const _ of Website.client(kubeConfig).watch()) {
          assert.fail("expected no event");
        }
      },
      (e: unknown) =>
        e instanceof ApiError && e.status === 410 && e.reason === "Expired",
    );
  });

  it("throws on a malformed watch line", async () => {
    reply = (_req, res) => {
      res.writeHead(200);
      res.end("not json\n");
    };
    await assert.rejects(async () => {
      for await (const _ of Website.client(kubeConfig).watch()) {
        assert.fail("expected no event");
      }
    }, MalformedResponseError);
  });

  it("ends when the signal aborts and closes the connection", async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((r) => closed = r);
    reply = (_req, res) => {
      res.writeHead(200);
      res.write(JSON.stringify({ type: "ADDED", object: site("a") }) + "\n");
      res.on("close", () => closed());
    };
    const controller = new AbortController();
    const events: string[] = [];
    for await (
      const event of Website.client(kubeConfig).watch({
        signal: controller.signal,
      })
    ) {
      events.push(event.type);
      controller.abort();
    }
    assert.deepEqual(events, ["ADDED"]);
    await connectionClosed;
  });

  it("ends without an event when aborted before the server answers", async () => {
    let requested!: () => void;
    const requestArrived = new Promise<void>((r) => requested = r);
    reply = () => requested();
    const controller = new AbortController();
    const events = Website.client(kubeConfig).watch({
      signal: controller.signal,
    })[Symbol.asyncIterator]();
    const next = events.next();
    await requestArrived;
    controller.abort();
    assert.deepEqual(await next, { done: true, value: undefined });
  });

  it("closes the connection when the consumer breaks out", async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((r) => closed = r);
    reply = (_req, res) => {
      res.writeHead(200);
      res.write(JSON.stringify({ type: "ADDED", object: site("a") }) + "\n");
      res.on("close", () => closed());
    };
    for await (const _ of Website.client(kubeConfig).watch()) break;
    await connectionClosed;
  });

  it("throws an ApiError when the watch request is refused", async () => {
    reply = (_req, res) =>
      json(res, 403, {
        kind: "Status",
        code: 403,
        reason: "Forbidden",
        message: "no",
      });
    await assert.rejects(async () => {
      for await (const _ of Website.client(kubeConfig).watch()) break;
    }, (e: unknown) => e instanceof ApiError && e.reason === "Forbidden");
  });
});
