import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import {
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import { ApiError, type WatchEvent } from "../../crd/mod.ts";
import { FencedError, KubeClient } from "../../controller/mod.ts";
import { Website } from "../../examples/resources.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";

let server: TestControlPlane;

function site(name: string, namespace = "default"): Website {
  return Website.build({
    metadata: { name, namespace, labels: { app: "web" } },
    spec: { domain: `${name}.example.com`, image: "nginx:1.27", replicas: 1 },
  });
}

/** Takes events from a watch until `done` says stop, with a deadline. */
async function collect(
  events: AsyncIterable<WatchEvent<Website>>,
  done: (seen: WatchEvent<Website>[]) => boolean,
  deadlineMs = 5000,
): Promise<WatchEvent<Website>[]> {
  const seen: WatchEvent<Website>[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no matching events within ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  const iterator = events[Symbol.asyncIterator]();
  try {
    while (!done(seen)) {
      const next = await Promise.race([iterator.next(), deadline]);
      if (next.done) break;
      seen.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
  return seen;
}

describe(`the typed client against the ${plane.kind} control plane`, {
  skip: skipUnlessRunnable("the typed client's API server tests"),
}, () => {
  before(async () => {
    server = await startTestControlPlane({ kind: plane.kind });
    const core = server.kubeConfig().makeApiClient(CoreV1Api);
    for (const name of ["web", "watched", "gone"]) {
      await core.createNamespace({ body: { metadata: { name } } });
    }
    await Website.install(server.kubeConfig(), { fieldManager: "crd-test" });
  });

  after(async () => {
    await server?.stop();
  });

  it("installs the CRD, and the server serves the kind", async () => {
    const websites = Website.client(server.kubeConfig());
    const list = await websites.list();
    assert.deepEqual(list.items, []);
    const again = await Website.install(server.kubeConfig(), {
      fieldManager: "crd-test",
    });
    assert.equal(again.metadata.name, "websites.example.k8s-operator.dev");
  });

  it("creates, gets and lists in namespaces", async () => {
    const websites = Website.client(server.kubeConfig());
    const created = await websites.create(site("blog"));
    assert.ok(created.metadata.uid);
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.spec.tier, "free", "the server applied the default");
    await websites.create(site("shop", "web"));
    const got = await websites.get("blog");
    assert.equal(got.spec.domain, "blog.example.com");
    assert.deepEqual(
      (await websites.list({ namespace: "web" })).items.map((w) =>
        w.metadata.name
      ),
      ["shop"],
    );
    assert.deepEqual(
      (await websites.list({ allNamespaces: true, labelSelector: "app=web" }))
        .items.map((w) => w.metadata.name).sort(),
      ["blog", "shop"],
    );
    await assert.rejects(
      () => websites.create(site("blog")),
      (e: unknown) =>
        e instanceof ApiError && e.status === 409 &&
        e.reason === "AlreadyExists",
    );
  });

  it("patches with merge, JSON patch and server-side apply", async () => {
    const websites = Website.client(server.kubeConfig());
    await websites.create(site("patched"));
    const merged = await websites.patch("patched", { spec: { replicas: 2 } });
    assert.equal(merged.spec.replicas, 2);
    const json = await websites.patch("patched", [
      { op: "test", path: "/spec/replicas", value: 2 },
      { op: "replace", path: "/spec/replicas", value: 3 },
    ], { type: "json" });
    assert.equal(json.spec.replicas, 3);
    const applied = await websites.patch("patched", {
      spec: { domain: "patched.example.com", image: "nginx:1.28", replicas: 4 },
    }, { type: "apply", fieldManager: "crd-test", force: true });
    assert.equal(applied.spec.image, "nginx:1.28");
    assert.equal(applied.spec.replicas, 4);
    await assert.rejects(
      () =>
        websites.patch("patched", [
          { op: "test", path: "/spec/replicas", value: 99 },
        ], { type: "json" }),
      (e: unknown) =>
        e instanceof ApiError && e.status >= 400 && e.status < 500,
    );
  });

  it("gets the server's schema check from the generated manifest", async () => {
    const websites = Website.client(server.kubeConfig());
    await websites.create(site("checked"));
    await assert.rejects(
      () => websites.patch("checked", { spec: { replicas: 0 } }),
      (e: unknown) =>
        e instanceof ApiError && e.status === 422 && e.reason === "Invalid" &&
        /replicas/.test(e.message),
    );
  });

  it("writes status through the subresource without touching the spec", async () => {
    const websites = Website.client(server.kubeConfig());
    const created = await websites.create(site("status"));
    const patched = await websites.patchStatus("status", {
      status: { readyReplicas: 1, observedGeneration: 1 },
      spec: { replicas: 9 },
    });
    assert.equal(patched.status?.readyReplicas, 1);
    assert.equal(patched.spec.replicas, 1);
    assert.equal(patched.metadata.generation, created.metadata.generation);
  });

  it("deletes, returning the object while a finalizer holds it", async () => {
    const websites = Website.client(server.kubeConfig());
    const object = site("final");
    object.metadata.finalizers = ["example.k8s-operator.dev/cleanup"];
    await websites.create(object);
    const held = await websites.delete("final");
    assert.ok(held?.metadata.deletionTimestamp);
    await websites.patch("final", [{
      op: "remove",
      path: "/metadata/finalizers",
    }], {
      type: "json",
    });
    await assert.rejects(
      () => websites.get("final"),
      (e: unknown) =>
        e instanceof ApiError && e.status === 404 && e.reason === "NotFound",
    );
  });

  it("watches from a list's resourceVersion", async () => {
    const websites = Website.client(server.kubeConfig());
    const list = await websites.list({ namespace: "watched" });
    const events = websites.watch({
      namespace: "watched",
      resourceVersion: list.metadata.resourceVersion,
    });
    const seen = collect(events, (s) => s.length >= 2);
    await websites.create(site("w1", "watched"));
    await websites.patch("w1", { spec: { replicas: 2 } }, {
      namespace: "watched",
    });
    assert.deepEqual(
      (await seen).map((e) => `${e.type} ${e.object.spec.replicas}`),
      ["ADDED 1", "MODIFIED 2"],
    );
  });

  it("ends a watch with an ApiError when the server sends 410 Gone", {
    // A client cannot make a real API server end a watch with 410 at will.
    skip: plane.kind === "fake" ? false : "needs fault injection (fake only)",
  }, async () => {
    const websites = Website.client(server.kubeConfig());
    const list = await websites.list({ namespace: "gone" });
    const events = websites.watch({
      namespace: "gone",
      resourceVersion: list.metadata.resourceVersion,
    })[Symbol.asyncIterator]();
    const first = events.next();
    await websites.create(site("g1", "gone"));
    assert.equal((await first).value?.type, "ADDED", "the watch is open");
    if (server.kind !== "fake") throw new Error("Expected the fake plane");
    server.server.faults.closeWatches({
      resource: "websites",
      error: { code: 410, reason: "Expired", message: "too old" },
    });
    await assert.rejects(
      events.next(),
      (e: unknown) =>
        e instanceof ApiError && e.status === 410 && e.reason === "Expired",
    );
  });

  it("sends through a fenced KubeClient and stops writing once the fence aborts", async () => {
    const leadership = new AbortController();
    const kube = KubeClient.fromKubeConfig(server.kubeConfig());
    const websites = Website.client(kube.fenced(leadership.signal));
    await websites.create(site("fenced"));
    leadership.abort();
    await assert.rejects(
      () => websites.patch("fenced", { spec: { replicas: 4 } }),
      (e: unknown) => e instanceof FencedError,
    );
    const stored = await kube.get<Website>(Website, "fenced", {
      namespace: "default",
    });
    assert.equal(
      stored.spec.replicas,
      1,
      "the write after the fence never left",
    );
  });
});
