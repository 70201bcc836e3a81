/**
 * The types of a custom resource defined in code: its options, metadata,
 * objects, printer columns, manifest and what validation returns.
 *
 * @module
 */
import type { Static } from "typebox";
import type { CustomResource } from "./define.ts";
import type { FieldProblem } from "./errors.ts";
import type { JSONSchemaProps } from "./schema.ts";

/**
 * Whether objects live in a namespace or in the whole cluster.
 *
 * @example
 * ```ts ignore
 * const scope: ResourceScope = "Namespaced";
 * ```
 */
export type ResourceScope = "Namespaced" | "Cluster";

/**
 * The value types `kubectl get` knows how to print.
 *
 * @example
 * ```ts ignore
 * const column: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
 * ```
 */
export type PrinterColumnType =
  | "string"
  | "integer"
  | "number"
  | "boolean"
  | "date";

/**
 * A column `kubectl get` shows for the resource.
 *
 * @example
 * ```ts ignore
 * const column: PrinterColumn = { name: "Replicas", jsonPath: ".spec.replicas", priority: 0 };
 * ```
 */
export interface PrinterColumn {
  /** The column header, such as `Replicas`. */
  name: string;
  /** A JSONPath into the object, such as `.spec.replicas`. */
  jsonPath: string;
  /** The value type; inferred from the schema when omitted. */
  type?: PrinterColumnType;
  /** What the column shows (`kubectl explain`, `-o wide` headers). */
  description?: string;
  /** A format hint such as `int32` or `date-time`. */
  format?: string;
  /** 0 shows it always, higher numbers only with `-o wide`. */
  priority?: number;
}

/**
 * A printer column as the manifest carries it: the type is always set.
 *
 * @example
 * ```ts ignore
 * for (const column of Website.printerColumns) console.log(column.name, column.type);
 * ```
 */
export interface ResolvedPrinterColumn extends PrinterColumn {
  /** The value type. */
  type: PrinterColumnType;
}

/**
 * What `defineCustomResource` takes. `spec` and `status` are TypeBox schemas
 * (plain JSON Schema objects with a static type).
 *
 * @example
 * ```ts ignore
 * const options: CustomResourceOptions<typeof spec> = {
 *   group: "example.k8s-operator.dev",
 *   version: "v1",
 *   kind: "Website",
 *   scope: "Namespaced",
 *   spec,
 * };
 * const Website = defineCustomResource(options);
 * ```
 */
export interface CustomResourceOptions<
  Spec extends object,
  Status extends object | undefined = undefined,
> {
  /** The API group, a DNS subdomain with at least one dot, such as `example.k8s-operator.dev`. */
  group: string;
  /** The version, such as `v1` or `v1alpha1`. */
  version: string;
  /** The kind in CamelCase, such as `Website`. */
  kind: string;
  /** The plural resource name in lowercase (default: the kind, lowercased and pluralized). */
  plural?: string;
  /** The singular resource name in lowercase (default: the kind, lowercased). */
  singular?: string;
  /** Whether objects live in a namespace or in the whole cluster. */
  scope: ResourceScope;
  /** The schema of `.spec`: an object schema. */
  spec: Spec;
  /** The schema of `.status`; when given, the status subresource is enabled. */
  status?: Status;
  /** Extra columns for `kubectl get`; an `Age` column is appended unless one shows `.metadata.creationTimestamp`. */
  printerColumns?: PrinterColumn[];
  /** Short names for `kubectl get`, such as `["ws"]`. */
  shortNames?: string[];
  /** Categories such as `["all"]`, so `kubectl get all` lists the resource. */
  categories?: string[];
  /** A description of the resource for `kubectl explain`. */
  description?: string;
}

/**
 * The object metadata a custom resource carries (the JSON form of `ObjectMeta`).
 *
 * @example
 * ```ts ignore
 * const metadata: ResourceMeta = { name: "blog", namespace: "web", labels: { app: "web" } };
 * ```
 */
export interface ResourceMeta {
  /** The name, unique per namespace (or cluster, for cluster-scoped resources). */
  name?: string;
  /** A prefix the server completes into a unique name when `name` is empty. */
  generateName?: string;
  /** The namespace, for namespaced resources. */
  namespace?: string;
  /** Key-value pairs to select objects by. */
  labels?: Record<string, string>;
  /** Key-value pairs for tools. */
  annotations?: Record<string, string>;
  /** Keys that must be removed before the object is deleted. */
  finalizers?: string[];
  /** The objects this one belongs to. */
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  /** Set by the server: the unique id. */
  uid?: string;
  /** Set by the server: the version for optimistic concurrency and watches. */
  resourceVersion?: string;
  /** Set by the server: increases on every change of the spec. */
  generation?: number;
  /** Set by the server: when the object was created (RFC 3339). */
  creationTimestamp?: string;
  /** Set by the server: when deletion was requested (RFC 3339). */
  deletionTimestamp?: string;
  /** Set by the server: the grace period of a pending deletion. */
  deletionGracePeriodSeconds?: number;
  /** Set by the server: which managers own which fields (server-side apply). */
  managedFields?: Record<string, unknown>[];
}

/**
 * A custom resource object: `apiVersion`, `kind`, `metadata`, `spec`, `status`.
 *
 * @example
 * ```ts ignore
 * const site: CustomResourceObject<{ domain: string }, never> = {
 *   apiVersion: "example.k8s-operator.dev/v1",
 *   kind: "Website",
 *   metadata: { name: "blog" },
 *   spec: { domain: "blog.example.com" },
 * };
 * ```
 */
export interface CustomResourceObject<Spec, Status> {
  /** `group/version`. */
  apiVersion: string;
  /** The kind. */
  kind: string;
  /** The object metadata. */
  metadata: ResourceMeta;
  /** The desired state. */
  spec: Spec;
  /** The observed state, written by the operator. */
  status?: Status;
}

/**
 * The static type of an optional status schema (`never` when there is none).
 *
 * @example
 * ```ts ignore
 * type Status = StaticStatus<typeof statusSchema>; // never when there is no status schema
 * ```
 */
export type StaticStatus<S> = S extends object ? Static<S> : never;

/**
 * The TypeScript type of a defined resource's objects.
 *
 * @example
 * ```ts ignore
 * type Website = InferResource<typeof Website>;
 * ```
 */
export type InferResource<D> = D extends
  CustomResource<infer Spec, infer Status>
  ? CustomResourceObject<Static<Spec>, StaticStatus<Status>>
  : never;

/**
 * What `build` takes: the metadata and the spec (and optionally the status).
 *
 * @example
 * ```ts ignore
 * const init: ResourceInit<{ domain: string }, never> = { metadata: { name: "blog" }, spec: { domain: "blog.example.com" } };
 * ```
 */
export interface ResourceInit<Spec, Status> {
  /** The object metadata; at least `name` or `generateName`. */
  metadata: ResourceMeta;
  /** The desired state. */
  spec: Spec;
  /** The observed state. */
  status?: Status;
}

/**
 * Options of `CustomResource.install`.
 *
 * @example
 * ```ts ignore
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * ```
 */
export interface InstallOptions {
  /** The field manager that owns the definition, such as the operator's name. */
  fieldManager: string;
  /**
   * How long to wait for the API server to establish and serve the
   * definition, in milliseconds (default 30,000).
   */
  timeoutMs?: number;
}

/**
 * Options of `CustomResource.problems` and `CustomResource.admit`.
 *
 * @example
 * ```ts ignore
 * const problems = Website.problems(candidate, { operation: "create", rejectUnknownFields: false });
 * ```
 */
export interface ObjectCheckOptions {
  /**
   * The write the object is for. With the status subresource, `create`
   * and `update` leave `status` out (the server drops it on create and
   * keeps the stored one on update); without `operation`, `status` is
   * checked too.
   */
  operation?: "create" | "update";
  /**
   * Report fields the schema does not define (default true), as the
   * server does with `fieldValidation=Strict`; with false they are pruned
   * silently, as the server does by default.
   */
  rejectUnknownFields?: boolean;
}

/**
 * What the API server would store for an object, and why it would refuse
 * it.
 *
 * @example
 * ```ts ignore
 * const { object, problems, pruned } = Website.admit(candidate, { operation: "create" });
 * ```
 */
export interface ResourceAdmission<T> {
  /** The object as the server would store it: pruned, nulls dropped, defaults filled in. */
  object: T;
  /** Every problem found; empty when the server would accept the write. */
  problems: FieldProblem[];
  /** The paths of the fields the server would prune. */
  pruned: string[];
}

/**
 * The `CustomResourceDefinition` object (`apiextensions.k8s.io/v1`).
 *
 * @example
 * ```ts ignore
 * const manifest: CustomResourceDefinitionManifest = Website.manifest();
 * console.log(manifest.spec.versions[0].schema.openAPIV3Schema);
 * ```
 */
export interface CustomResourceDefinitionManifest {
  /** Always `apiextensions.k8s.io/v1`. */
  apiVersion: "apiextensions.k8s.io/v1";
  /** Always `CustomResourceDefinition`. */
  kind: "CustomResourceDefinition";
  /** The name is `<plural>.<group>`. */
  metadata: { name: string };
  /** The definition itself. */
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: ResourceScope;
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources?: { status: Record<string, never> };
      additionalPrinterColumns?: ResolvedPrinterColumn[];
    }[];
  };
}
