/**
 * Resource types of built-in kinds that the library's own tests and
 * benchmarks use. Library-internal: not exported by `testing/mod.ts` (a
 * user's code declares its own `ResourceType`s).
 *
 * @module
 */
import type { ResourceType } from "../client/objects.ts";

/**
 * ConfigMaps (core/v1), which the test API server serves built in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configMaps } from "./resource_types.ts";
 * assert.equal(configMaps.plural, "configmaps");
 * ```
 */
export const configMaps: ResourceType = {
  group: "",
  version: "v1",
  plural: "configmaps",
  kind: "ConfigMap",
  namespaced: true,
};
