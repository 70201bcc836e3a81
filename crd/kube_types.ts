/**
 * TypeBox schemas for the Kubernetes-specific shapes a structural schema
 * allows: int-or-string, free-form objects, nullable fields.
 *
 * @module
 */
import type { Static } from "typebox";

/**
 * A schema whose static type is `T`: a plain JSON Schema object that
 * TypeBox's `Static` reads as `T` (the shape of TypeBox's `Type.Unsafe`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Static } from "typebox";
 * import { IntOrString, type KubeSchema } from "./kube_types.ts";
 * const port: KubeSchema<number | string> = IntOrString();
 * const http: Static<typeof port> = "http"; // or 8080
 * assert.deepEqual(port, { "x-kubernetes-int-or-string": true });
 * assert.equal(http, "http");
 * ```
 */
export interface KubeSchema<T> {
  /** Carries the static type; never present at run time. */
  readonly "~unsafe": T;
}

function unsafe<T>(schema: Record<string, unknown>): KubeSchema<T> {
  return schema as unknown as KubeSchema<T>;
}

/**
 * Options every helper accepts: a description and a default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IntOrString, type KubeSchemaOptions } from "./kube_types.ts";
 * const options: KubeSchemaOptions = { description: "The port, by number or name." };
 * assert.equal((IntOrString(options) as { description?: string }).description, options.description);
 * ```
 */
export interface KubeSchemaOptions {
  /** Shown by `kubectl explain`. */
  description?: string;
}

/**
 * A value that is an integer or a string, like a port (`8080` or `"http"`)
 * or a percentage (`"25%"`): `x-kubernetes-int-or-string: true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { IntOrString } from "./kube_types.ts";
 *
 * const spec = Type.Object({ maxUnavailable: IntOrString() });
 * assert.deepEqual(spec.properties.maxUnavailable, { "x-kubernetes-int-or-string": true });
 * ```
 */
export function IntOrString(
  options: KubeSchemaOptions = {},
): KubeSchema<number | string> {
  return unsafe<number | string>({
    ...options,
    "x-kubernetes-int-or-string": true,
  });
}

/**
 * An object whose fields the schema does not describe and the API server
 * keeps as they are: `type: object` with
 * `x-kubernetes-preserve-unknown-fields: true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { PreserveUnknownFields } from "./kube_types.ts";
 *
 * const spec = Type.Object({ values: PreserveUnknownFields() });
 * assert.deepEqual(spec.properties.values, { type: "object", "x-kubernetes-preserve-unknown-fields": true });
 * ```
 */
export function PreserveUnknownFields(
  options: KubeSchemaOptions = {},
): KubeSchema<Record<string, unknown>> {
  return unsafe<Record<string, unknown>>({
    ...options,
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  });
}

/**
 * A field that may also be `null`: the schema of `inner` with
 * `nullable: true`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { Nullable } from "./kube_types.ts";
 *
 * const spec = Type.Object({ owner: Nullable(Type.String()) });
 * assert.deepEqual(spec.properties.owner, { type: "string", nullable: true });
 * ```
 */
export function Nullable<T extends object>(
  inner: T,
): KubeSchema<Static<T> | null> {
  return unsafe<Static<T> | null>({ ...inner, nullable: true });
}
