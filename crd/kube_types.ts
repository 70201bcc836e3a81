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
 * ```ts ignore
 * const port: KubeSchema<number | string> = IntOrString();
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
 * ```ts ignore
 * const port = IntOrString({ description: "The port, by number or name." });
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
 * import Type from "typebox";
 * import { IntOrString } from "./kube_types.ts";
 *
 * const spec = Type.Object({ maxUnavailable: IntOrString() });
 * console.log(spec.properties.maxUnavailable); // { "x-kubernetes-int-or-string": true }
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
 * import Type from "typebox";
 * import { PreserveUnknownFields } from "./kube_types.ts";
 *
 * const spec = Type.Object({ values: PreserveUnknownFields() });
 * console.log(spec.properties.values); // { type: "object", "x-kubernetes-preserve-unknown-fields": true }
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
 * import Type from "typebox";
 * import { Nullable } from "./kube_types.ts";
 *
 * const spec = Type.Object({ owner: Nullable(Type.String()) });
 * console.log(spec.properties.owner); // { type: "string", nullable: true }
 * ```
 */
export function Nullable<T extends object>(
  inner: T,
): KubeSchema<Static<T> | null> {
  return unsafe<Static<T> | null>({ ...inner, nullable: true });
}
