/**
 * Custom resources defined in code. One TypeBox schema for `spec` (and one
 * for `status`) gives:
 *
 * - the TypeScript type of the resource (`InferResource<typeof Def>`),
 * - runtime validation with every field error and its path
 *   (`ValidationError`),
 * - a typed client (get, list, create, replace, patch, patchStatus, delete,
 *   watch) on a `@kubernetes/client-node` `KubeConfig` or on the
 *   controller's `KubeClient` (a fenced one stops writes when leadership
 *   is lost),
 * - the `CustomResourceDefinition` manifest with a structural OpenAPI v3
 *   schema, the status subresource and printer columns.
 *
 * Schemas Kubernetes would reject as non-structural are refused when the
 * resource is defined (`NonStructuralSchemaError`).
 *
 * @example
 * ```ts
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource } from "./mod.ts";
 *
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev",
 *   version: "v1",
 *   kind: "Website",
 *   scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 *   printerColumns: [{ name: "Replicas", jsonPath: ".spec.replicas" }],
 * });
 * type Website = InferResource<typeof Website>;
 * const site: Website = Website.validate({
 *   apiVersion: "example.k8s-operator.dev/v1",
 *   kind: "Website",
 *   metadata: { name: "blog" },
 *   spec: { domain: "blog.example.com", replicas: 2 },
 * });
 * console.log(site.spec.domain, Website.manifest().spec.names.plural);
 * ```
 *
 * @module
 */
import "../platform/check_runtime.ts";
export { CustomResource, defineCustomResource } from "./define.ts";
export type {
  CustomResourceDefinitionManifest,
  CustomResourceObject,
  CustomResourceOptions,
  InferResource,
  InstallOptions,
  ObjectCheckOptions,
  PrinterColumn,
  PrinterColumnType,
  ResolvedPrinterColumn,
  ResourceAdmission,
  ResourceInit,
  ResourceMeta,
  ResourceScope,
  StaticStatus,
} from "./types.ts";
export type {
  ClientSource,
  ClientTarget,
  DeleteOptions,
  JsonPatchOperation,
  NamespaceOptions,
  ResourceClient,
  ResourceClientOptions,
  ResourceList,
  ResourceListOptions,
  ResourcePatchOptions,
  ResourcePatchType,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "./client.ts";
export { ApiError } from "../client/errors.ts";
export {
  CrdNotEstablishedError,
  type FieldProblem,
  InvalidDefinitionError,
  MalformedResponseError,
  NonStructuralSchemaError,
  ValidationError,
} from "./errors.ts";
export {
  type JSONSchemaProps,
  type StructuralSchemaOptions,
  toStructuralSchema,
} from "./schema.ts";
export {
  type Admission,
  admitValue,
  validateValue,
  type ValidateValueOptions,
} from "./validate.ts";
export {
  IntOrString,
  type KubeSchema,
  type KubeSchemaOptions,
  Nullable,
  PreserveUnknownFields,
} from "./kube_types.ts";
export {
  Conditions,
  ObservedGeneration,
  type ResourceCondition,
} from "./conditions.ts";
export type { Static } from "typebox";
