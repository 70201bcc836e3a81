import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type Replicas,
  startReplicas,
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import {
  isApiError,
  KubeClient,
  type KubeObject,
  Operator,
} from "../../mod.ts";
import { Website } from "../../examples/resources.ts";
import {
  configMaps,
  deployments,
  FINALIZER,
  websiteReconciler,
  websites,
} from "../../examples/website.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";

interface Deployment extends KubeObject {
  spec: {
    replicas: number;
    template: { spec: { containers: { image: string; envFrom: unknown[] }[] } };
  };
}
interface ConfigMap extends KubeObject {
  data: Record<string, string>;
}
interface Event extends KubeObject {
  reason: string;
  message: string;
  involvedObject: { name: string; kind: string };
}

describe(`the Website example operator [${plane.kind}]`, {
  skip: skipUnlessRunnable("the Website operator tests"),
}, () => {
  let server: TestControlPlane;
  let client: KubeClient;
  let replicas: Replicas | undefined;
  /** Waits for `check` under the harness's deadline, with its logs on failure. */
  const eventually: Replicas["waitFor"] = (what, check) =>
    replicas!.waitFor(what, check);

  before(async () => {
    server = await startTestControlPlane({ kind: plane.kind });
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    await Website.install(server.kubeConfig(), { fieldManager: "test" });
    // One replica in this process: it leads alone.
    replicas = await startReplicas({
      controlPlane: server,
      replicas: 1,
      operator: (options) =>
        Operator.fromEnv(options).controller(Website, websiteReconciler),
    });
  });

  after(async () => {
    await replicas?.stop();
    await server?.stop();
  });

  const get = <T extends KubeObject>(
    resource: typeof websites,
    name: string,
  ) => client.get<T>(resource, name, { namespace: "default" });

  async function events(name: string): Promise<Event[]> {
    const list = await client.list<Event>({
      group: "",
      version: "v1",
      plural: "events",
      kind: "Event",
      namespaced: true,
    }, { namespace: "default" });
    return list.items.filter((e) => e.involvedObject.name === name);
  }

  it("applies a ConfigMap and a Deployment owned by the Website, and reports status", async () => {
    const created = await client.create(
      websites,
      Website.build({
        metadata: { name: "blog", namespace: "default" },
        spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
      }),
    );
    const site = await eventually("status.observedGeneration 1", async () => {
      const s = await get<Website>(websites, "blog");
      return s.status?.observedGeneration === 1 && s;
    });
    const conditions = new Map(
      (site.status?.conditions ?? []).map((c) => [c.type, c]),
    );
    assert.equal(conditions.get("Reconciled")?.status, "True");
    assert.match(
      conditions.get("Reconciled")?.message ?? "",
      /applied by replica 0 in term \d+/,
    );
    assert.equal(conditions.get("Available")?.status, "False");
    assert.equal(conditions.get("Available")?.reason, "WaitingForReplicas");
    assert.equal(site.status?.readyReplicas, 0);
    assert.equal(site.status?.url, "http://blog.example.com/");
    assert.deepEqual(site.metadata.finalizers, [FINALIZER]);

    const cm = await get<ConfigMap>(configMaps, "blog-settings");
    assert.equal(cm.data.DOMAIN, "blog.example.com");
    const deployment = await get<Deployment>(deployments, "blog-web");
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(
      deployment.spec.template.spec.containers[0].image,
      "nginx:1.27",
    );
    for (const child of [cm, deployment]) {
      const [owner] = child.metadata.ownerReferences ?? [];
      assert.equal(owner?.uid, created.metadata.uid);
      assert.equal(owner?.controller, true);
    }
    const applied = await eventually(
      "an Applied event",
      async () => (await events("blog")).find((e) => e.reason === "Applied"),
    );
    assert.match(applied.message, /^Generation 1: 2 replicas of nginx:1\.27$/);
  });

  it("follows a spec change, and reports the Deployment's ready replicas", async () => {
    await client.patch(websites, "blog", { spec: { replicas: 3 } }, {
      namespace: "default",
    });
    await eventually(
      "the Deployment scaled to 3",
      async () =>
        (await get<Deployment>(deployments, "blog-web")).spec.replicas === 3,
    );
    // No controller runs Pods on either plane: the test reports them. A
    // real API server refuses more ready replicas than replicas.
    await client.patch(deployments, "blog-web", {
      status: { replicas: 3, readyReplicas: 3 },
    }, { namespace: "default", subresource: "status" });
    const site = await eventually("Available", async () => {
      const s = await get<Website>(websites, "blog");
      const available = s.status?.conditions?.find((c) =>
        c.type === "Available"
      );
      return available?.status === "True" && s;
    });
    assert.equal(site.status?.readyReplicas, 3);
    assert.equal(site.status?.observedGeneration, 2);
  });

  it("repairs a child changed by someone else", async () => {
    await client.patch(deployments, "blog-web", { spec: { replicas: 9 } }, {
      namespace: "default",
    });
    await eventually(
      "the Deployment back at 3 replicas",
      async () =>
        (await get<Deployment>(deployments, "blog-web")).spec.replicas === 3,
    );
  });

  it("cleans up under its finalizer when the Website is deleted", async () => {
    await client.delete(websites, "blog", { namespace: "default" });
    await eventually("the Website gone", async () => {
      try {
        await get(websites, "blog");
        return false;
      } catch (error) {
        return isApiError(error, 404);
      }
    });
    for (
      const [resource, name] of [[configMaps, "blog-settings"], [
        deployments,
        "blog-web",
      ]] as const
    ) {
      await assert.rejects(get(resource, name), (e) => isApiError(e, 404));
    }
    const cleaned = (await events("blog")).find((e) =>
      e.reason === "CleanedUp"
    );
    assert.equal(cleaned?.message, "Deleted blog-web and blog-settings");
  });
});
