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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourceScope } from "@k8s-operator/k8s-operator/crd";
 * const scope: ResourceScope = "Cluster";
 * const Mirror = defineCustomResource({ group: "example.k8s-operator.dev", version: "v1", kind: "Mirror", scope, spec: Type.Object({}) });
 * assert.equal(Mirror.namespaced, false);
 * ```
 */
export type ResourceScope = "Namespaced" | "Cluster";

/**
 * The value types `kubectl get` knows how to print.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type PrinterColumnType } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const types: Record<string, PrinterColumnType> = Object.fromEntries(
 *   Website.printerColumns.map((c) => [c.name, c.type]),
 * );
 * assert.equal(types.Age, "date"); // added for .metadata.creationTimestamp
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type PrinterColumn } from "@k8s-operator/k8s-operator/crd";
 * const replicas: PrinterColumn = { name: "Replicas", jsonPath: ".spec.replicas", priority: 0 };
 * const Site = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Site", scope: "Namespaced",
 *   spec: Type.Object({ replicas: Type.Integer() }),
 *   printerColumns: [replicas],
 * });
 * assert.equal(Site.printerColumns[0].type, "integer"); // inferred from the schema
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResolvedPrinterColumn } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const columns: readonly ResolvedPrinterColumn[] = Website.printerColumns;
 * assert.deepEqual(columns.map((c) => `${c.name}: ${c.type}`), ["Age: date"]);
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { type CustomResourceOptions, defineCustomResource } from "@k8s-operator/k8s-operator/crd";
 * const spec = Type.Object({ domain: Type.String() });
 * const options: CustomResourceOptions<typeof spec> = {
 *   group: "example.k8s-operator.dev",
 *   version: "v1",
 *   kind: "Website",
 *   scope: "Namespaced",
 *   spec,
 * };
 * const Website = defineCustomResource(options);
 * assert.equal(Website.plural, "websites");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourceMeta } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const metadata: ResourceMeta = { name: "blog", namespace: "web", labels: { app: "web" } };
 * const site = Website.build({ metadata, spec: { domain: "blog.example.com", replicas: 1 } });
 * assert.equal(site.metadata.labels?.app, "web");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CustomResourceObject } from "@k8s-operator/k8s-operator/crd";
 * const site: CustomResourceObject<{ domain: string }, never> = {
 *   apiVersion: "example.k8s-operator.dev/v1",
 *   kind: "Website",
 *   metadata: { name: "blog" },
 *   spec: { domain: "blog.example.com" },
 * };
 * assert.equal(site.spec.domain, "blog.example.com");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { type StaticStatus } from "@k8s-operator/k8s-operator/crd";
 * const statusSchema = Type.Object({ readyReplicas: Type.Integer() });
 * type Status = StaticStatus<typeof statusSchema>; // never when there is no status schema
 * const status: Status = { readyReplicas: 2 };
 * assert.equal(status.readyReplicas, 2);
 * ```
 */
export type StaticStatus<S> = S extends object ? Static<S> : never;

/**
 * The TypeScript type of a defined resource's objects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * type Website = InferResource<typeof Website>;
 * const site: Website = Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } });
 * assert.equal(site.kind, "Website");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ResourceInit } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const init: ResourceInit<{ domain: string; replicas: number }, never> = {
 *   metadata: { name: "blog" },
 *   spec: { domain: "blog.example.com", replicas: 2 },
 * };
 * assert.equal(Website.build(init).apiVersion, "example.k8s-operator.dev/v1");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InstallOptions } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * const options: InstallOptions = { fieldManager: "website-operator", timeoutMs: 10_000 };
 * const manifest = await Website.install(kubeConfig, options); // served once it resolves
 * assert.equal(manifest.metadata.name, "websites.example.k8s-operator.dev");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type ObjectCheckOptions } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const candidate = { apiVersion: Website.apiVersion, kind: "Website", metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicaz: 3 } };
 * const lenient: ObjectCheckOptions = { operation: "create", rejectUnknownFields: false };
 * assert.deepEqual(Website.problems(candidate, lenient), []); // replicaz pruned, replicas defaulted
 * assert.equal(Website.problems(candidate)[0].path, "spec.replicaz");
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource, type ResourceAdmission } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const candidate = { apiVersion: Website.apiVersion, kind: "Website", metadata: { name: "blog" }, spec: { domain: "blog.example.com" }, extra: 1 };
 * const { object, problems, pruned }: ResourceAdmission<InferResource<typeof Website>> =
 *   Website.admit(candidate, { operation: "create" });
 * assert.equal(object.spec.replicas, 1); // the default, as the server fills it in
 * assert.deepEqual(pruned, ["extra"]);
 * assert.equal(problems[0].path, "extra"); // unknown fields are problems unless rejectUnknownFields: false
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
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { type CustomResourceDefinitionManifest, defineCustomResource } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const manifest: CustomResourceDefinitionManifest = Website.manifest();
 * const schema = manifest.spec.versions[0].schema.openAPIV3Schema;
 * assert.deepEqual(schema.required, ["spec"]);
 * assert.deepEqual(manifest.spec.versions[0].subresources, { status: {} }); // it has a status
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
