/**
 * `defineCustomResource`: one definition gives the resource's TypeScript
 * type, runtime validation, a typed client and the
 * CustomResourceDefinition manifest.
 *
 * @module
 */
import type { Static } from "typebox";
import { resolveColumns } from "./_columns.ts";
import {
  type FieldProblem,
  InvalidDefinitionError,
  ValidationError,
} from "./errors.ts";
import { type JSONSchemaProps, toStructuralSchema } from "./schema.ts";
import { admitObject } from "../client/schema.ts";
import type {
  ClientSource,
  ResourceClient,
  ResourceClientOptions,
} from "./client.ts";
import { ResourceClientImpl } from "./_client.ts";
import { waitUntilServed } from "./_established.ts";
import { KubeClient } from "../client/kube_client.ts";
import type {
  CustomResourceDefinitionManifest,
  CustomResourceObject,
  CustomResourceOptions,
  InstallOptions,
  ObjectCheckOptions,
  ResolvedPrinterColumn,
  ResourceAdmission,
  ResourceInit,
  ResourceScope,
  StaticStatus,
} from "./types.ts";

/** How long `install` waits for the definition to be served, by default. */
const DEFAULT_INSTALL_TIMEOUT_MS = 30_000;
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pluralize(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

function checkLabel(what: string, value: string): void {
  if (!DNS_LABEL.test(value) || value.length > 63) {
    throw new InvalidDefinitionError(
      `Expected ${what} to be a lowercase DNS label (a-z, 0-9, '-', starting with a letter, at most 63 characters), found ${
        JSON.stringify(value)
      }`,
    );
  }
}

function celPaths(schema: JSONSchemaProps, path: string): string[] {
  const out: string[] = [];
  if ((schema["x-kubernetes-validations"] ?? []).length > 0) {
    out.push(path === "" ? "(root)" : path);
  }
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    out.push(...celPaths(field, path === "" ? name : `${path}.${name}`));
  }
  if (schema.items !== undefined) {
    out.push(...celPaths(schema.items, `${path}[*]`));
  }
  if (typeof schema.additionalProperties === "object") {
    out.push(...celPaths(schema.additionalProperties, `${path}.*`));
  }
  return out;
}

/**
 * A custom resource defined in code. Made by {@linkcode defineCustomResource};
 * it holds the names, the structural schemas, and gives the manifest, the
 * validator and the client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const manifest = Website.manifest(); // the CustomResourceDefinition to apply
 * const site = Website.validate(JSON.parse('{"apiVersion":"example.k8s-operator.dev/v1","kind":"Website","metadata":{"name":"blog"},"spec":{"domain":"blog.example.com","replicas":2}}'));
 * assert.equal(manifest.spec.names.plural, "websites");
 * assert.equal(site.spec.replicas, 2);
 * ```
 */
export class CustomResource<
  Spec extends object = object,
  Status extends object | undefined = object | undefined,
> {
  /** The API group. */
  readonly group: string;
  /** The version. */
  readonly version: string;
  /** `group/version`, the objects' `apiVersion`. */
  readonly apiVersion: string;
  /** The kind. */
  readonly kind: string;
  /** The kind of lists, `<kind>List`. */
  readonly listKind: string;
  /** The plural resource name, used in URLs. */
  readonly plural: string;
  /** The singular resource name. */
  readonly singular: string;
  /** The CRD's name, `<plural>.<group>`. */
  readonly name: string;
  /** Whether objects live in a namespace or in the whole cluster. */
  readonly scope: ResourceScope;
  /**
   * Whether objects live in a namespace: with `group`, `version`, `plural`
   * and `kind`, this makes a definition a controller `ResourceType`.
   */
  readonly namespaced: boolean;
  /** Short names for `kubectl`. */
  readonly shortNames: readonly string[];
  /** Categories for `kubectl get <category>`. */
  readonly categories: readonly string[];
  /** The printer columns, types resolved, `Age` included. */
  readonly printerColumns: readonly ResolvedPrinterColumn[];
  /** The structural schema of `.spec`. */
  readonly specSchema: JSONSchemaProps;
  /** The structural schema of `.status`, if the resource has one. */
  readonly statusSchema: JSONSchemaProps | undefined;
  /** The whole object's structural schema (`openAPIV3Schema`). */
  readonly schema: JSONSchemaProps;
  /**
   * The schema paths that carry CEL rules (`x-kubernetes-validations`):
   * passed through to the CRD as written and evaluated by the API server
   * only, never by `validate`, `problems` or `admit`.
   */
  readonly serverOnlyRules: readonly string[];
  /** The TypeBox schemas as given. */
  readonly source: { readonly spec: Spec; readonly status: Status };

  /**
   * Prefer {@linkcode defineCustomResource}, which checks the options the
   * same way and reads better.
   *
   * @param options The definition.
   */
  constructor(options: CustomResourceOptions<Spec, Status>) {
    const { group, version, kind, scope } = options;
    if (
      !DNS_SUBDOMAIN.test(group) || !group.includes(".") || group.length > 253
    ) {
      throw new InvalidDefinitionError(
        `Expected group to be a lowercase DNS subdomain with at least one dot (like example.com), found ${
          JSON.stringify(group)
        }`,
      );
    }
    checkLabel("version", version);
    if (!/^[A-Z][A-Za-z0-9]*$/.test(kind) || kind.length > 63) {
      throw new InvalidDefinitionError(
        `Expected kind to be CamelCase starting with an uppercase letter (like Website), found ${
          JSON.stringify(kind)
        }`,
      );
    }
    if (scope !== "Namespaced" && scope !== "Cluster") {
      throw new InvalidDefinitionError(
        `Expected scope to be Namespaced or Cluster, found ${
          JSON.stringify(scope)
        }`,
      );
    }
    this.group = group;
    this.version = version;
    this.apiVersion = `${group}/${version}`;
    this.kind = kind;
    this.listKind = `${kind}List`;
    this.singular = options.singular ?? kind.toLowerCase();
    this.plural = options.plural ?? pluralize(this.singular);
    checkLabel("plural", this.plural);
    checkLabel("singular", this.singular);
    this.shortNames = [...(options.shortNames ?? [])];
    this.shortNames.forEach((s) => checkLabel("every short name", s));
    this.categories = [...(options.categories ?? [])];
    this.categories.forEach((s) => checkLabel("every category", s));
    this.name = `${this.plural}.${group}`;
    this.scope = scope;
    this.namespaced = scope === "Namespaced";
    this.source = { spec: options.spec, status: options.status as Status };
    this.specSchema = toStructuralSchema(options.spec, { path: "spec", kind });
    this.statusSchema = options.status === undefined
      ? undefined
      : toStructuralSchema(options.status, { path: "status", kind });
    const properties: Record<string, JSONSchemaProps> = {
      apiVersion: {
        type: "string",
        description:
          "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents.",
      },
      metadata: { type: "object" },
      spec: this.specSchema,
    };
    if (this.statusSchema !== undefined) properties.status = this.statusSchema;
    this.schema = {
      type: "object",
      ...(options.description !== undefined
        ? { description: options.description }
        : {}),
      required: ["spec"],
      properties,
    };
    this.serverOnlyRules = celPaths(this.schema, "");
    this.printerColumns = resolveColumns(
      options.printerColumns ?? [],
      this.schema,
    );
  }

  /**
   * The `CustomResourceDefinition` object for this resource: structural
   * schema, status subresource when there is a status, printer columns.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * assert.equal(Website.manifest().metadata.name, "websites.example.k8s-operator.dev");
   * ```
   */
  manifest(): CustomResourceDefinitionManifest {
    const names: CustomResourceDefinitionManifest["spec"]["names"] = {
      kind: this.kind,
      listKind: this.listKind,
      plural: this.plural,
      singular: this.singular,
    };
    if (this.shortNames.length > 0) names.shortNames = [...this.shortNames];
    if (this.categories.length > 0) names.categories = [...this.categories];
    const version: CustomResourceDefinitionManifest["spec"]["versions"][0] = {
      name: this.version,
      served: true,
      storage: true,
      schema: { openAPIV3Schema: structuredClone(this.schema) },
    };
    if (this.statusSchema !== undefined) version.subresources = { status: {} };
    version.additionalPrinterColumns = this.printerColumns.map((c) => ({
      ...c,
    }));
    return {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: this.name },
      spec: {
        group: this.group,
        names,
        scope: this.scope,
        versions: [version],
      },
    };
  }

  /**
   * What a real API server would do with `value` as an object of this
   * resource: the object it would store (unknown fields pruned, nulls of
   * non-nullable fields without a default dropped, defaults filled in,
   * `status` left out on a create or update with the status subresource),
   * and every problem that makes it refuse the write: apiVersion, kind,
   * metadata (name or generateName a DNS subdomain, namespace a DNS label,
   * label and annotation syntax and size), spec and status against their
   * schemas. CEL rules (`x-kubernetes-validations`) are the server's
   * alone: they are not evaluated here.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * const candidate = { apiVersion: Website.apiVersion, kind: "Website", metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: null } };
   * const { object, problems } = Website.admit(candidate, { operation: "create" });
   * assert.equal(object.spec.replicas, 1); // a null replaced by the default, as the server does
   * assert.deepEqual(problems, []);
   * ```
   */
  admit(
    value: unknown,
    options: ObjectCheckOptions = {},
  ): ResourceAdmission<
    CustomResourceObject<Static<Spec>, StaticStatus<Status>>
  > {
    type Object = CustomResourceObject<Static<Spec>, StaticStatus<Status>>;
    if (!isObject(value)) {
      return {
        object: value as Object,
        pruned: [],
        problems: [{
          path: "",
          reason: "FieldValueTypeInvalid",
          message: `expected a ${this.kind} object, found ${
            value === null
              ? "null"
              : Array.isArray(value)
              ? "array"
              : typeof value
          }`,
        }],
      };
    }
    const problems: FieldProblem[] = [];
    for (
      const [field, expected] of [
        ["apiVersion", this.apiVersion],
        ["kind", this.kind],
      ]
    ) {
      if (value[field] !== expected) {
        problems.push({
          path: field,
          reason: "FieldValueInvalid",
          message: `expected ${JSON.stringify(expected)}, found ${
            JSON.stringify(value[field])
          }`,
        });
      }
    }
    const admission = admitObject(this.schema, value, {
      namespaced: this.namespaced,
      dropStatus: options.operation !== undefined &&
        this.statusSchema !== undefined,
      rejectUnknownFields: options.rejectUnknownFields ?? true,
    });
    return {
      object: admission.value as Object,
      problems: [...problems, ...admission.problems],
      pruned: admission.pruned,
    };
  }

  /**
   * Every problem of `value` as an object of this resource (see
   * {@linkcode CustomResource.admit}). Empty when valid.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * const candidate = { apiVersion: Website.apiVersion, kind: "Website", metadata: { name: "blog" }, spec: { replicas: 0 } };
   * assert.deepEqual(Website.problems(candidate).map((p) => p.path), ["spec.domain", "spec.replicas"]);
   * ```
   */
  problems(value: unknown, options: ObjectCheckOptions = {}): FieldProblem[] {
    return this.admit(value, options).problems;
  }

  /**
   * Checks `value` and returns it typed, or throws `ValidationError` listing
   * every problem with its path.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource, type InferResource, ValidationError } from "@k8s-operator/k8s-operator/crd";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * const text = '{"apiVersion":"example.k8s-operator.dev/v1","kind":"Website","metadata":{"name":"blog"},"spec":{"domain":"blog.example.com","replicas":2}}';
   * const site: InferResource<typeof Website> = Website.validate(JSON.parse(text));
   * assert.equal(site.spec.domain, "blog.example.com");
   * assert.throws(() => Website.validate({ ...site, spec: { replicas: 0 } }), ValidationError);
   * ```
   */
  validate(
    value: unknown,
  ): CustomResourceObject<Static<Spec>, StaticStatus<Status>> {
    const problems = this.problems(value);
    if (problems.length > 0) {
      const name = (value as { metadata?: { name?: unknown } } | null)?.metadata
        ?.name;
      throw new ValidationError(
        typeof name === "string"
          ? `${this.kind} ${JSON.stringify(name)}`
          : this.kind,
        { fields: problems, serverOnlyRules: this.serverOnlyRules },
      );
    }
    return value as CustomResourceObject<Static<Spec>, StaticStatus<Status>>;
  }

  /**
   * A new object of this resource with `apiVersion` and `kind` filled in.
   * Not validated: pass it to `validate` or `client(…).create`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * const site = Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 2 } });
   * assert.equal(site.apiVersion, "example.k8s-operator.dev/v1");
   * assert.equal(site.kind, "Website");
   * ```
   */
  build(
    init: ResourceInit<Static<Spec>, StaticStatus<Status>>,
  ): CustomResourceObject<Static<Spec>, StaticStatus<Status>> {
    const object: CustomResourceObject<Static<Spec>, StaticStatus<Status>> = {
      apiVersion: this.apiVersion,
      kind: this.kind,
      metadata: init.metadata,
      spec: init.spec,
    };
    if (init.status !== undefined) object.status = init.status;
    return object;
  }

  /**
   * Creates or updates this resource's CustomResourceDefinition in the
   * cluster with a server-side apply (forced, so this manager owns the
   * definition), then waits until the API server serves the kind: the
   * definition `Established` and the resource in its group version's
   * discovery (a real server takes a moment; a create before then gets
   * 404). Resolves with the definition as the server has it. Rejects with
   * `CrdNotEstablishedError` at once when the server refuses the names
   * (another definition holds the kind or plural), or after `timeoutMs`
   * (default 30 s).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
   * const kubeConfig = server.kubeConfig();
   * await Website.install(kubeConfig, { fieldManager: "website-operator" });
   * const site = Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 2 } });
   * const created = await Website.client(kubeConfig).create(site); // served: no 404
   * assert.equal(created.metadata.name, "blog");
   * ```
   */
  async install(
    source: ClientSource,
    options: InstallOptions,
  ): Promise<CustomResourceDefinitionManifest> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(
        `Expected timeoutMs to be a number of milliseconds from 0, found ${timeoutMs}`,
      );
    }
    const client = source instanceof KubeClient
      ? source
      : KubeClient.fromKubeConfig(source);
    const crds = new ResourceClientImpl<CustomResourceDefinitionManifest>(
      {
        group: "apiextensions.k8s.io",
        version: "v1",
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        scope: "Cluster",
        namespaced: false,
        problems: () => [],
      },
      client,
      {},
    );
    await crds.patch(this.name, this.manifest(), {
      type: "apply",
      fieldManager: options.fieldManager,
      force: true,
    });
    return await waitUntilServed<CustomResourceDefinitionManifest>(client, {
      resource: {
        name: this.name,
        group: this.group,
        version: this.version,
        plural: this.plural,
      },
      timeoutMs,
    });
  }

  /**
   * A typed client for this resource, on the cluster and credentials of a
   * `KubeConfig`, or on a controller `KubeClient` (a fenced one fences
   * these writes too).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import Type from "typebox";
   * import { defineCustomResource } from "@k8s-operator/k8s-operator/crd";
   * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
   * const Website = defineCustomResource({
   *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
   *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
   *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
   * });
   * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
   * const kubeConfig = server.kubeConfig();
   * await Website.install(kubeConfig, { fieldManager: "website-operator" });
   * const websites = Website.client(kubeConfig, { namespace: "default" }); // in a pod: kubeConfig.loadFromDefault()
   * await websites.create(Website.build({ metadata: { name: "blog" }, spec: { domain: "blog.example.com", replicas: 1 } }));
   * const site = await websites.get("blog");
   * assert.equal(site.spec.domain, "blog.example.com");
   * ```
   */
  client(
    source: ClientSource,
    options: ResourceClientOptions = {},
  ): ResourceClient<CustomResourceObject<Static<Spec>, StaticStatus<Status>>> {
    return new ResourceClientImpl(this, source, options);
  }
}

/**
 * Defines a custom resource from one TypeBox schema for `spec` (and one for
 * `status`). Throws `NonStructuralSchemaError` when Kubernetes would reject
 * a schema as non-structural, and `InvalidDefinitionError` for malformed
 * names or printer columns — at definition time, not at deploy time.
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
 *   spec: Type.Object({
 *     domain: Type.String({ minLength: 1 }),
 *     replicas: Type.Integer({ minimum: 1, default: 1 }),
 *   }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 *   printerColumns: [{ name: "Domain", jsonPath: ".spec.domain" }],
 *   shortNames: ["ws"],
 * });
 * type Website = InferResource<typeof Website>;
 * const site: Website = Website.build({
 *   metadata: { name: "blog" },
 *   spec: { domain: "blog.example.com", replicas: 2 },
 * });
 * console.log(Website.manifest().metadata.name, site.spec.replicas);
 * ```
 */
export function defineCustomResource<
  Spec extends object,
  Status extends object | undefined = undefined,
>(options: CustomResourceOptions<Spec, Status>): CustomResource<Spec, Status> {
  return new CustomResource(options);
}
