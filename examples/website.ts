/**
 * The example operator's reconciler: a `Website` owns a Deployment (its
 * pods) and a Service (their address), reports what it sees in status
 * conditions, records events, and drains its pods under a finalizer before
 * it goes. The verbs it uses are exactly those `deploy/rbac.yaml` grants.
 *
 * @example
 * ```ts ignore
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
import type { OperatorReconciler } from "../operator.ts";
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
/** Services (core/v1). */
export const services: ResourceType = {
  group: "",
  version: "v1",
  plural: "services",
  kind: "Service",
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
  service: string;
  deployment: string;
} {
  const name = site.metadata.name!;
  return { service: `${name}-web`, deployment: `${name}-web` };
}

function podLabels(site: Website): Record<string, string> {
  return {
    "app.kubernetes.io/name": site.metadata.name!,
    "app.kubernetes.io/component": "web",
  };
}

/**
 * The Service a Website owns: port 80 in front of its pods, annotated with
 * the domain it answers to.
 *
 * @example
 * ```ts ignore
 * const service = desiredService(site);
 * ```
 */
export function desiredService(site: Website): KubeObject {
  const { namespace } = site.metadata;
  const port = site.spec.port ?? 80;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: childNames(site).service,
      namespace,
      labels: {
        ...podLabels(site),
        "app.kubernetes.io/managed-by": FIELD_MANAGER,
      },
      annotations: { "example.k8s-operator.dev/domain": site.spec.domain },
      ownerReferences: [ownerReference(site)],
    },
    spec: {
      selector: podLabels(site),
      ports: [{ name: "http", port: 80, targetPort: port }],
    },
  } as KubeObject;
}

/**
 * The Deployment a Website owns: `replicas` pods of `image`, told their
 * domain and tier in the environment.
 *
 * @example
 * ```ts ignore
 * const deployment = desiredDeployment(site);
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
            env: [
              { name: "DOMAIN", value: site.spec.domain },
              { name: "TIER", value: site.spec.tier ?? "free" },
              ...Object.entries(site.spec.env ?? {}).map(([n, value]) => ({
                name: n,
                value,
              })),
            ],
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
 * Reconciles one Website: applies its Deployment and Service, then writes
 * `status` (ready replicas, URL, `Available` and `Reconciled` conditions,
 * observed generation) and records an event when a new generation was
 * applied. Runs only on the leader; `ctx.client` is fenced by leadership.
 */
async function reconcile(
  site: Website,
  ctx: Context,
): Promise<ReconcileResult> {
  const deployment = await apply(
    ctx,
    deployments,
    desiredDeployment(site),
  ) as DeploymentStatus;
  await apply(ctx, services, desiredService(site));
  const ready = deployment.status?.readyReplicas ?? 0;
  const available = ready >= site.spec.replicas;
  const generation = site.metadata.generation ?? 0;
  const firstTimeForGeneration = site.status?.observedGeneration !== generation;
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
          `Deployment and Service applied by replica ${ctx.guard.nodeId} in term ${ctx.term}`,
        )
        .withGeneration(generation),
    )
    .observedGeneration()
    .apply();
  if (firstTimeForGeneration) {
    await ctx.recorder.normal(site, {
      reason: "Applied",
      message:
        `Generation ${generation}: ${site.spec.replicas} replicas of ${site.spec.image}`,
    });
  }
  return ReconcileResult.done();
}

/**
 * Runs while a Website is being deleted, before its finalizer goes: scales
 * its Deployment to zero, so its pods stop before anything else of it
 * goes, and records an event. Garbage collection deletes the children once
 * the Website is gone (they carry its ownerReference).
 */
async function cleanup(site: Website, ctx: Context): Promise<ReconcileResult> {
  const { namespace } = site.metadata;
  const { deployment } = childNames(site);
  try {
    await ctx.client.patch(deployments, deployment, {
      spec: { replicas: 0 },
    }, { namespace, signal: ctx.signal });
  } catch (error) {
    if (!isApiError(error, 404)) throw error;
  }
  await ctx.recorder.normal(site, {
    reason: "Drained",
    message: `Scaled ${deployment} to 0 before deletion`,
  });
  return ReconcileResult.done();
}

/**
 * The Website reconciler with its controller settings: it owns Deployments
 * and Services (a change to one reconciles its Website), and drains under
 * {@linkcode FINALIZER}.
 *
 * @example
 * ```ts ignore
 * await Operator.fromEnv().controller(Website, websiteReconciler).run();
 * ```
 */
export const websiteReconciler: OperatorReconciler<Website> = {
  finalizer: FINALIZER,
  owns: [deployments, services],
  component: FIELD_MANAGER,
  reconcile,
  cleanup,
};
