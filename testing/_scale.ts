/**
 * The `/scale` subresource (`autoscaling/v1` `Scale`), as `kubectl scale`
 * and autoscalers use it: read from, and written into, the paths a CRD's
 * `subresources.scale` names (`.spec.replicas`, `.status.replicas`, a
 * selector), or a Deployment's and StatefulSet's own fields.
 *
 * @module
 */
import { isObject, type Json, type JsonObject } from "./_patch.ts";
import type { ScalePaths } from "./_resources.ts";
import type { StatusCause } from "./_status.ts";

function steps(path: string): string[] {
  return path.replace(/^\./, "").split(".").filter((s) => s !== "");
}

/** The value at a JSON path like `.spec.replicas`. */
export function valueAtPath(obj: JsonObject, path: string): Json | undefined {
  let node: Json | undefined = obj;
  for (const step of steps(path)) {
    if (!isObject(node)) return undefined;
    node = node[step];
  }
  return node;
}

/** Sets the value at a JSON path, making the objects on the way. */
export function setAtPath(obj: JsonObject, path: string, value: Json): void {
  const parts = steps(path);
  let node = obj;
  for (const step of parts.slice(0, -1)) {
    if (!isObject(node[step])) node[step] = {};
    node = node[step] as JsonObject;
  }
  node[parts[parts.length - 1]] = value;
}

/** A label selector in the string form the server prints (`a=b,c in (d,e)`), keys sorted. */
export function selectorText(selector: Json | undefined): string {
  if (!isObject(selector)) return "";
  const parts: [string, string][] = [];
  if (isObject(selector.matchLabels)) {
    for (const [k, v] of Object.entries(selector.matchLabels)) {
      parts.push([k, `${k}=${v}`]);
    }
  }
  if (Array.isArray(selector.matchExpressions)) {
    for (const e of selector.matchExpressions) {
      if (!isObject(e)) continue;
      const key = String(e.key);
      const values = Array.isArray(e.values)
        ? e.values.map(String).sort().join(",")
        : "";
      switch (e.operator) {
        case "In":
          parts.push([key, `${key} in (${values})`]);
          break;
        case "NotIn":
          parts.push([key, `${key} notin (${values})`]);
          break;
        case "Exists":
          parts.push([key, key]);
          break;
        case "DoesNotExist":
          parts.push([key, `!${key}`]);
          break;
      }
    }
  }
  parts.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return parts.map(([, text]) => text).join(",");
}

/** The `Scale` of an object. */
export function scaleOf(
  obj: JsonObject & { metadata: JsonObject },
  paths: ScalePaths,
): JsonObject {
  const m = obj.metadata;
  const metadata: JsonObject = { name: m.name ?? "" };
  if (m.namespace !== undefined) metadata.namespace = m.namespace;
  metadata.uid = m.uid ?? "";
  metadata.resourceVersion = m.resourceVersion ?? "";
  metadata.creationTimestamp = m.creationTimestamp ?? null;
  const replicas = valueAtPath(obj, paths.specReplicasPath);
  const status: JsonObject = {
    replicas: Number(valueAtPath(obj, paths.statusReplicasPath) ?? 0),
  };
  const selector = paths.labelSelectorPath === ".spec.selector"
    ? selectorText(valueAtPath(obj, ".spec.selector"))
    : paths.labelSelectorPath
    ? valueAtPath(obj, paths.labelSelectorPath)
    : undefined;
  if (typeof selector === "string" && selector !== "") {
    status.selector = selector;
  }
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata,
    spec: typeof replicas === "number" ? { replicas } : {},
    status,
  };
}

/** The replicas a written `Scale` asks for, or the causes of its refusal. */
export function requestedReplicas(
  scale: JsonObject,
): { replicas: number } | { causes: StatusCause[] } {
  const spec = isObject(scale.spec) ? scale.spec : {};
  const replicas = spec.replicas ?? 0;
  if (typeof replicas !== "number" || !Number.isInteger(replicas)) {
    return {
      causes: [{
        reason: "FieldValueInvalid",
        field: "spec.replicas",
        message: `Invalid value: ${
          JSON.stringify(replicas)
        }: must be an integer`,
      }],
    };
  }
  if (replicas < 0) {
    return {
      causes: [{
        reason: "FieldValueInvalid",
        field: "spec.replicas",
        message:
          `Invalid value: ${replicas}: must be greater than or equal to 0`,
      }],
    };
  }
  return { replicas };
}
