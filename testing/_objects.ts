/**
 * What every part of the API core shares: a request's target, list query
 * parameters, and small accessors of stored objects' metadata.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_patch.ts";
import {
  type ResourceDef,
  resourceKey,
  type VersionInfo,
} from "./_resources.ts";

/** One request's target: a resource in one version, maybe a namespace, name and subresource. */
export interface Target {
  def: ResourceDef;
  version: VersionInfo;
  namespace?: string;
  name?: string;
  subresource?: "status" | "scale";
  /** `fieldValidation=Strict`: unknown fields of custom objects are refused. */
  strictFields?: boolean;
}

/** List and watch query parameters. */
export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
  allowWatchBookmarks?: boolean;
  /** Watch: send the current objects first, then a bookmark marking their end. */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

/** Metadata fields only the server writes. */
export const SERVER_FIELDS = [
  "uid",
  "resourceVersion",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "generation",
  "managedFields",
  "selfLink",
];

/** An object's metadata, made an empty object when missing. */
export function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

/** An object's finalizers (the strings among them). */
export function finalizersOf(obj: JsonObject): string[] {
  const f = meta(obj).finalizers;
  return Array.isArray(f)
    ? f.filter((x): x is string => typeof x === "string")
    : [];
}

/** Whether an object names at least one owner. */
export function hasOwners(obj: JsonObject): boolean {
  const refs = meta(obj).ownerReferences;
  return Array.isArray(refs) && refs.length > 0;
}

/** The store table of a resource. */
export function tableOf(def: ResourceDef): string {
  return resourceKey(def.group, def.plural);
}

/** An RFC 3339 timestamp with whole seconds, as metadata carries them. */
export function timestampOf(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
