/**
 * The example operator's reconciler: a `Website` owns a ConfigMap (its
 * settings) and a Deployment (its pods), reports what it sees in status
 * conditions, records events, and cleans up under a finalizer.
 *
 * @example
 * ```ts ignore
 * // Not run: it is examples/main.ts, which runs in every pod and in deno task demo.
 * import { Operator } from "../mod.ts";
 * import { Website } from "./resources.ts";
 * import { websiteReconciler } from "./website.ts";
 *
 * await Operator.fromEnv().controller(Website, websiteReconciler).run();
 * ```
 *
 * @module
 */
import {
  type Context,
  isApiError,
  type KubeObject,
  type OwnerReference,
  ReconcileResult,
  type ResourceType,
  StatusCondition,
  StatusPatch,
} from "../controller/mod.ts";
import type { OperatorReconciler } from "../mod.ts";
import { Website } from "./resources.ts";

/** The finalizer under which a Website's cleanup runs. */
export const FINALIZER = "example.k8s-operator.dev/cleanup";
/** The field manager of every server-side apply this operator sends. */
export const FIELD_MANAGER = "website-operator";

/** The Website resource, as the controller's client addresses it. */
export const websites: ResourceType = {
  group: Website.group,
  version: Website.version,
  plural: Website.plural,
  kind: Website.kind,
  namespaced: true,
};
/** ConfigMaps (core/v1). */
export const configMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
/** Deployments (apps/v1). */
export const deployments: ResourceType = {
  group: "apps",
  version: "v1",
  plural: "deployments",
  kind: "Deployment",
  namespaced: true,
};

/** The part of a Deployment the reconciler reads back. */
interface DeploymentStatus extends KubeObject {
  status?: { readyReplicas?: number };
}

function ownerReference(site: Website): OwnerReference {
  return {
    apiVersion: Website.apiVersion,
    kind: Website.kind,
    name: site.metadata.name!,
    uid: site.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The names of a Website's children. */
export function childNames(site: Website): {
  configMap: string;
  deployment: string;
} {
  const name = site.metadata.name!;
  return { configMap: `${name}-settings`, deployment: `${name}-web` };
}

/**
 * The ConfigMap a Website owns: its domain, tier and a start page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Website } from "./resources.ts";
 * import { desiredConfigMap } from "./website.ts";
 * const site = Website.build({
 *   metadata: { name: "blog", namespace: "default", uid: "6f1c" }, // as read from the server
 *   spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
 * });
 * const cm = desiredConfigMap(site);
 * assert.equal(cm.metadata.name, "blog-settings");
 * assert.equal((cm as { data?: Record<string, string> }).data?.DOMAIN, "blog.example.com");
 * assert.equal(cm.metadata.ownerReferences?.[0].uid, "6f1c"); // deleted with the Website
 * ```
 */
export function desiredConfigMap(site: Website): KubeObject {
  const { name, namespace } = site.metadata;
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: childNames(site).configMap,
      namespace,
      labels: {
        "app.kubernetes.io/name": name!,
        "app.kubernetes.io/managed-by": FIELD_MANAGER,
      },
      ownerReferences: [ownerReference(site)],
    },
    data: {
      DOMAIN: site.spec.domain,
      TIER: site.spec.tier ?? "free",
      "index.html": `<h1>${site.spec.domain}</h1>\n`,
    },
  } as KubeObject;
}

/**
 * The Deployment a Website owns: `replicas` pods of `image`, configured
 * from the ConfigMap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Website } from "./resources.ts";
 * import { desiredDeployment } from "./website.ts";
 * const site = Website.build({
 *   metadata: { name: "blog", namespace: "default", uid: "6f1c" }, // as read from the server
 *   spec: { domain: "blog.example.com", image: "nginx:1.27", replicas: 2 },
 * });
 * const deployment = desiredDeployment(site) as { spec?: { replicas?: number } } & typeof site;
 * assert.equal(deployment.metadata.name, "blog-web");
 * assert.equal(deployment.spec?.replicas, 2);
 * ```
 */
export function desiredDeployment(site: Website): KubeObject {
  const { name, namespace } = site.metadata;
  const labels = {
    "app.kubernetes.io/name": name!,
    "app.kubernetes.io/component": "web",
  };
  const port = site.spec.port ?? 80;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: childNames(site).deployment,
      namespace,
      labels: { ...labels, "app.kubernetes.io/managed-by": FIELD_MANAGER },
      ownerReferences: [ownerReference(site)],
    },
    spec: {
      replicas: site.spec.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [{
            name: "web",
            image: site.spec.image,
            ports: [
              typeof port === "number"
                ? { containerPort: port }
                : { name: port, containerPort: 80 },
            ],
            envFrom: [{ configMapRef: { name: childNames(site).configMap } }],
            env: Object.entries(site.spec.env ?? {}).map(([n, value]) => ({
              name: n,
              value,
            })),
          }],
        },
      },
    },
  } as KubeObject;
}

async function apply(
  ctx: Context,
  resource: ResourceType,
  object: KubeObject,
): Promise<KubeObject> {
  return await ctx.client.patch(resource, object.metadata.name!, object, {
    namespace: object.metadata.namespace,
    type: "apply",
    fieldManager: FIELD_MANAGER,
    force: true,
    signal: ctx.signal,
  });
}

/**
 * Reconciles one Website: applies its ConfigMap and Deployment, records an
 * event when a new generation was applied, then writes `status` (ready
 * replicas, URL, `Available` and `Reconciled` conditions, observed
 * generation). Runs only on the leader; `ctx.client` is fenced by leadership.
 */
async function reconcile(
  site: Website,
  ctx: Context,
): Promise<ReconcileResult> {
  await apply(ctx, configMaps, desiredConfigMap(site));
  const deployment = await apply(
    ctx,
    deployments,
    desiredDeployment(site),
  ) as DeploymentStatus;
  const ready = deployment.status?.readyReplicas ?? 0;
  const available = ready >= site.spec.replicas;
  const generation = site.metadata.generation ?? 0;
  const firstTimeForGeneration = site.status?.observedGeneration !== generation;
  if (firstTimeForGeneration) {
    // Before the status says the generation was observed: if leadership
    // ends in between, the status write is refused too and the next
    // reconcile records the event again. After it, a refused event (the
    // recorder never rejects) would be lost for good.
    await ctx.recorder.normal(site, {
      reason: "Applied",
      message:
        `Generation ${generation}: ${site.spec.replicas} replicas of ${site.spec.image}`,
    });
  }
  await new StatusPatch(site, {
    client: ctx.client,
    resource: websites,
    signal: ctx.signal,
  })
    .set("readyReplicas", ready)
    .set("url", `http://${site.spec.domain}/`)
    .condition(
      StatusCondition.available(available)
        .withReason(
          available ? "MinimumReplicasAvailable" : "WaitingForReplicas",
        )
        .withMessage(`${ready} of ${site.spec.replicas} replicas ready`)
        .withGeneration(generation),
    )
    .condition(
      new StatusCondition("Reconciled", "True")
        .withReason("ChildrenApplied")
        .withMessage(
          `ConfigMap and Deployment applied by replica ${ctx.guard.nodeId} in term ${ctx.term}`,
        )
        .withGeneration(generation),
    )
    .observedGeneration()
    .apply();
  return ReconcileResult.done();
}

/**
 * Runs while a Website is being deleted, before its finalizer goes: deletes
 * the children at once (rather than leaving them to garbage collection) and
 * records an event.
 */
async function cleanup(site: Website, ctx: Context): Promise<ReconcileResult> {
  const { namespace } = site.metadata;
  const names = childNames(site);
  for (
    const [resource, name] of [
      [deployments, names.deployment],
      [configMaps, names.configMap],
    ] as const
  ) {
    try {
      await ctx.client.delete(resource, name, {
        namespace,
        signal: ctx.signal,
      });
    } catch (error) {
      if (!isApiError(error, 404)) throw error;
    }
  }
  await ctx.recorder.normal(site, {
    reason: "CleanedUp",
    message: `Deleted ${names.deployment} and ${names.configMap}`,
  });
  return ReconcileResult.done();
}

/**
 * The Website reconciler with its controller settings: it owns ConfigMaps
 * and Deployments (a change to one reconciles its Website), and cleans up
 * under {@linkcode FINALIZER}.
 *
 * @example
 * ```ts
 * import { Operator } from "../mod.ts";
 * import { Website } from "./resources.ts";
 * import { websiteReconciler } from "./website.ts";
 * // What every replica runs (examples/main.ts).
 * const main = () => Operator.fromEnv().controller(Website, websiteReconciler).run();
 * ```
 */
export const websiteReconciler: OperatorReconciler<Website> = {
  finalizer: FINALIZER,
  owns: [configMaps, deployments],
  component: FIELD_MANAGER,
  reconcile,
  cleanup,
};
