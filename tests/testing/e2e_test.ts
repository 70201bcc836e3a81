/**
 * The same controller-facing scenarios, run against the control plane the
 * switch names (`K8S_OPERATOR_TEST_CONTROL_PLANE`: the in-process
 * `TestApiServer`, or a real etcd + kube-apiserver from
 * `KUBEBUILDER_ASSETS`), and against the cluster `KUBECONFIG` points at
 * when it is set, so anyone with a cluster can compare. The real-cluster
 * run needs rights to create namespaces and CustomResourceDefinitions; it
 * works in a fresh namespace and removes what it made.
 *
 * Not covered here because a client cannot force them on a real server:
 * 410 Gone (etcd compaction), bookmarks (about once a minute), fault
 * injection. The in-process tests cover those.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  Watch,
} from "@kubernetes/client-node";
import { getEnv } from "../../platform/mod.ts";
import {
  startTestControlPlane,
  type TestControlPlane,
} from "../../testing/mod.ts";
import { plane, skipUnlessRunnable } from "../_control_plane.ts";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

/** What a scenario runs against. */
interface Target {
  kc: KubeConfig;
  namespace: string;
  /** The API group of the scenario's CRD, unique per run. */
  group: string;
}

async function code(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
  throw new Error("Expected the call to fail, but it succeeded");
}

/** Whether a read answers 404 NotFound. */
async function absent(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return true;
    throw error;
  }
}

/** Polls `probe` until it returns true, failing after `ms` (real clusters act asynchronously). */
async function eventually(
  probe: () => Promise<boolean>,
  what: string,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function crd(group: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `gadgets.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: { plural: "gadgets", singular: "gadget", kind: "Gadget" },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: {
                  size: { type: "integer", minimum: 1, maximum: 10 },
                  mode: { type: "string", _enum: ["fast", "safe"] },
                },
              },
              status: {
                type: "object",
                properties: { ready: { type: "boolean" } },
              },
            },
          },
        },
      }],
    },
  };
}

/** What the target can show beyond the API itself. */
interface Abilities {
  /** Whether owner-reference garbage collection runs (a controller manager). */
  garbageCollection: boolean;
}

function scenarios(
  label: string,
  setup: () => Promise<Target>,
  abilities: Abilities,
): void {
  let t: Target;
  let core: CoreV1Api;
  before(async () => {
    t = await setup();
    core = t.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: t.namespace } } });
  });
  after(async () => {
    await t.kc.makeApiClient(ApiextensionsV1Api)
      .deleteCustomResourceDefinition({ name: `gadgets.${t.group}` })
      .catch(() => {});
    await core.deleteNamespace({ name: t.namespace }).catch(() => {});
  });

  it(`${label}: sets metadata, refuses duplicates, stale updates and missing objects`, async () => {
    const ns = t.namespace;
    const cm = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "one" }, data: { v: "1" } },
    });
    assert.ok(cm.metadata?.uid);
    assert.ok(cm.metadata?.creationTimestamp instanceof Date);
    assert.match(String(cm.metadata?.resourceVersion), /^\d+$/);
    assert.equal(
      await code(core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: "one" } },
      })),
      409,
    );
    await core.replaceNamespacedConfigMap({
      name: "one",
      namespace: ns,
      body: { ...cm, data: { v: "2" } },
    });
    assert.equal(
      await code(core.replaceNamespacedConfigMap({
        name: "one",
        namespace: ns,
        body: { ...cm, data: { v: "3" } },
      })),
      409,
    );
    assert.equal(
      await code(core.readNamespacedConfigMap({ name: "nope", namespace: ns })),
      404,
    );
  });

  it(`${label}: pages a label-selected list with limit and continue`, async () => {
    for (let i = 0; i < 5; i++) {
      await core.createNamespacedConfigMap({
        namespace: t.namespace,
        body: {
          metadata: { name: `page-${i}`, labels: { e2e: "paging" } },
        },
      });
    }
    const names: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: t.namespace,
        labelSelector: "e2e=paging",
        limit: 2,
        _continue: cont,
      });
      names.push(...page.items.map((i) => i.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont);
    assert.deepEqual(names.sort(), [0, 1, 2, 3, 4].map((i) => `page-${i}`));
    assert.equal(pages, 3);
  });

  it(`${label}: streams ADDED, MODIFIED and DELETED from a resourceVersion`, async () => {
    const list = await core.listNamespacedConfigMap({
      namespace: t.namespace,
    });
    const seen: string[] = [];
    let wake = () => {};
    const watch = new Watch(t.kc);
    const abort = await watch.watch(
      `/api/v1/namespaces/${t.namespace}/configmaps`,
      {
        resourceVersion: list.metadata?.resourceVersion,
        labelSelector: "e2e=watched",
      },
      (type, obj) => {
        seen.push(`${type} ${obj.metadata.name}`);
        wake();
      },
      () => {},
    );
    const body = { metadata: { name: "w", labels: { e2e: "watched" } } };
    await core.createNamespacedConfigMap({ namespace: t.namespace, body });
    await core.patchNamespacedConfigMap({
      name: "w",
      namespace: t.namespace,
      body: { data: { k: "v" } },
    }, merge);
    await core.deleteNamespacedConfigMap({ name: "w", namespace: t.namespace });
    const deadline = Date.now() + 30_000;
    while (seen.length < 3 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    abort.abort();
    assert.deepEqual(seen, ["ADDED w", "MODIFIED w", "DELETED w"]);
  });

  it(`${label}: keeps an object with a finalizer until the finalizer goes`, async () => {
    const ns = t.namespace;
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: "held", finalizers: ["example.com/hold"] },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "held", namespace: ns });
    const held = await core.readNamespacedConfigMap({
      name: "held",
      namespace: ns,
    });
    assert.ok(held.metadata?.deletionTimestamp instanceof Date);
    assert.deepEqual(held.metadata?.finalizers, ["example.com/hold"]);
    await core.patchNamespacedConfigMap({
      name: "held",
      namespace: ns,
      body: [
        {
          op: "test",
          path: "/metadata/finalizers/0",
          value: "example.com/hold",
        },
        { op: "remove", path: "/metadata/finalizers/0" },
      ],
    }, jsonPatch);
    await eventually(
      () =>
        absent(() =>
          core.readNamespacedConfigMap({ name: "held", namespace: ns })
        ),
      "the finalized object to go",
    );
  });

  it(`${label}: garbage-collects a dependent of a deleted owner`, {
    skip: abilities.garbageCollection
      ? false
      : "no kube-controller-manager in KUBEBUILDER_ASSETS: nothing collects garbage",
  }, async () => {
    const ns = t.namespace;
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "owner" } },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [{
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "owner",
            uid: owner.metadata!.uid!,
          }],
        },
      },
    });
    await core.deleteNamespacedConfigMap({
      name: "owner",
      namespace: ns,
      propagationPolicy: "Background",
    });
    await eventually(
      () =>
        absent(() =>
          core.readNamespacedSecret({ name: "dependent", namespace: ns })
        ),
      "the dependent to be collected",
    );
  });

  it(`${label}: arbitrates a Lease takeover by resourceVersion`, async () => {
    const leases = t.kc.makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: t.namespace,
      body: {
        metadata: { name: "leader" },
        spec: {
          holderIdentity: "a",
          leaseDurationSeconds: 15,
          renewTime: new V1MicroTime(),
        },
      },
    });
    const take = (holder: string) =>
      leases.replaceNamespacedLease({
        name: "leader",
        namespace: t.namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: holder } },
      });
    await take("b");
    assert.equal(await code(take("c")), 409);
  });

  it(`${label}: serves a CRD's resources with schema validation, generation and the status subresource`, async () => {
    const ext = t.kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: crd(t.group) });
    await eventually(async () => {
      const got = await ext.readCustomResourceDefinition({
        name: `gadgets.${t.group}`,
      });
      return got.status?.conditions?.some((c) =>
        c.type === "Established" && c.status === "True"
      ) ?? false;
    }, "the CRD to be Established");
    const custom = t.kc.makeApiClient(CustomObjectsApi);
    const at = {
      group: t.group,
      version: "v1",
      namespace: t.namespace,
      plural: "gadgets",
    };
    const body = (spec: Record<string, unknown>) => ({
      apiVersion: `${t.group}/v1`,
      kind: "Gadget",
      metadata: { name: "g" },
      spec,
    });
    let created: { metadata: { generation: number } } | undefined;
    await eventually(async () => {
      created = await custom.createNamespacedCustomObject({
        ...at,
        body: { ...body({ size: 1 }), status: { ready: true } },
      }).catch((error) => {
        if (error instanceof ApiException && error.code === 404) {
          return undefined;
        }
        throw error;
      });
      return created !== undefined;
    }, "the custom resource to be served");
    assert.equal(created!.metadata.generation, 1);
    assert.equal((created as { status?: unknown }).status, undefined);
    const invalid = await code(custom.createNamespacedCustomObject({
      ...at,
      body: { ...body({ size: 11, mode: "slow" }), metadata: { name: "bad" } },
    }));
    assert.equal(invalid, 422);
    const labelled = await custom.patchNamespacedCustomObject({
      ...at,
      name: "g",
      body: { metadata: { labels: { a: "b" } } },
    }, merge);
    assert.equal(labelled.metadata.generation, 1);
    const resized = await custom.patchNamespacedCustomObject({
      ...at,
      name: "g",
      body: { spec: { size: 2 }, status: { ready: true } },
    }, merge);
    assert.equal(resized.metadata.generation, 2);
    assert.equal(resized.status, undefined);
    const status = await custom.patchNamespacedCustomObjectStatus({
      ...at,
      name: "g",
      body: { spec: { size: 5 }, status: { ready: true } },
    }, merge);
    assert.deepEqual(status.status, { ready: true });
    assert.equal(status.spec.size, 2);
    assert.equal(status.metadata.generation, 2);
  });
}

const suffix = Math.random().toString(36).slice(2, 8);

describe(`e2e scenarios on the ${plane.kind} control plane`, {
  skip: skipUnlessRunnable("the e2e scenarios"),
}, () => {
  let controlPlane: TestControlPlane | undefined;
  scenarios(plane.kind, async () => {
    controlPlane = await startTestControlPlane({
      kind: plane.kind,
      fake: { bookmarkIntervalMs: 0 },
    });
    return {
      kc: controlPlane.kubeConfig(),
      namespace: `e2e-${suffix}`,
      group: `e2e-${suffix}.k8s-operator.dev`,
    };
  }, plane);
  after(async () => {
    await controlPlane?.stop();
  });
});

const kubeconfig = getEnv("KUBECONFIG");

describe("e2e scenarios against the KUBECONFIG cluster", {
  skip: kubeconfig
    ? false
    : "KUBECONFIG is not set: the real-cluster run of these scenarios is skipped",
}, () => {
  scenarios("real cluster", () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return Promise.resolve({
      kc,
      namespace: `k8s-operator-e2e-${suffix}`,
      group: `e2e-${suffix}.k8s-operator.dev`,
    });
  }, { garbageCollection: true });
});
