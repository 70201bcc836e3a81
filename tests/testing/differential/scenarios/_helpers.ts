/**
 * What the differential scenarios share: paths, request builders and the
 * objects they write.
 *
 * @module
 */
import type { Reply, RequestSpec, WatchEvent } from "../client.ts";
import type { ScenarioContext } from "../run.ts";

export const MERGE = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC = "application/strategic-merge-patch+json";
export const APPLY = "application/apply-patch+yaml";

// deno-lint-ignore no-explicit-any
export type Any = any;

/** The body of a reply, loosely typed. */
export function body(reply: Reply): Any {
  return reply.body;
}

/** A core/v1 path. */
export function core(ns: string, plural: string, name?: string): string {
  return `/api/v1/namespaces/${ns}/${plural}${name ? `/${name}` : ""}`;
}

/** An apps/v1 path. */
export function apps(ns: string, plural: string, name?: string): string {
  return `/apis/apps/v1/namespaces/${ns}/${plural}${name ? `/${name}` : ""}`;
}

/** A path of the shared gadgets. */
export function gadgets(c: ScenarioContext, name?: string): string {
  return `/apis/${c.group}/v1/namespaces/${c.ns}/gadgets${
    name ? `/${name}` : ""
  }`;
}

/** A PATCH of `type`. */
export function patch(
  path: string,
  type: string,
  patchBody: unknown,
): RequestSpec {
  return { method: "PATCH", path, body: patchBody, contentType: type };
}

/** A POST. */
export function post(path: string, postBody: unknown): RequestSpec {
  return { method: "POST", path, body: postBody };
}

/** A PUT. */
export function put(path: string, putBody: unknown): RequestSpec {
  return { method: "PUT", path, body: putBody };
}

/** A DELETE, with DeleteOptions when given. */
export function del(path: string, options?: unknown): RequestSpec {
  return { method: "DELETE", path, body: options };
}

/** A ConfigMap. */
export function configMap(
  name: string,
  data: Record<string, string> = {},
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, ...metadata },
    data,
  };
}

/** A pod spec with a container, a port, an env var, a volume and its mount. */
export function podSpec(): Record<string, unknown> {
  return {
    containers: [{
      name: "app",
      image: "nginx:1.27",
      ports: [{ containerPort: 80 }],
      env: [{ name: "A", value: "1" }],
      volumeMounts: [{ name: "data", mountPath: "/data" }],
    }],
    volumes: [{ name: "data", emptyDir: {} }],
  };
}

/** A Deployment of the pod spec. */
export function deployment(name: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
  };
}

/** A StatefulSet of the pod spec. */
export function statefulSet(name: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, labels: { app: name } },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec() },
    },
  };
}

/**
 * A Pod. Without `serviceAccountToken`, it mounts no token: the real
 * server's ServiceAccount admission would add a projected token volume
 * (and, in the OpenShift build of the reference, a service CA), which the
 * test server does not (a listed divergence, shown once in `defaults`).
 */
export function pod(
  name: string,
  options: { serviceAccountToken?: boolean } = {},
): Record<string, unknown> {
  const spec = podSpec();
  if (!options.serviceAccountToken) spec.automountServiceAccountToken = false;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app: name } },
    spec,
  };
}

/** The names of a list reply's items. */
export function names(reply: Reply): string[] {
  return (body(reply)?.items ?? []).map((i: Any) => i.metadata.name);
}

/** The types of watch events. */
export function types(events: WatchEvent[]): string[] {
  return events.map((e) => e.type);
}
