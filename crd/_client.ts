/**
 * The client behind `CustomResource.client`: typed calls on the
 * controller's `KubeClient` (authentication, TLS, timeouts, fencing).
 *
 * @module
 */
import { ApiError, readApiError } from "../client/errors.ts";
import { KubeClient } from "../client/kube_client.ts";
import { PATCH_CONTENT_TYPES } from "../client/patch.ts";
import { MalformedResponseError, ValidationError } from "./errors.ts";
import type {
  ClientSource,
  ClientTarget,
  DeleteOptions,
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

/** The patch flavours a custom resource takes (not `strategic`). */
const PATCH_TYPES: ReadonlySet<string> = new Set<ResourcePatchType>([
  "merge",
  "json",
  "apply",
]);

const JSON_PATCH_OPS = new Set([
  "add",
  "remove",
  "replace",
  "move",
  "copy",
  "test",
]);

/** The longest watch line accepted (a single object), in characters. */
const MAX_WATCH_LINE = 16 * 1024 * 1024;

type Query = Record<string, string | number | boolean | undefined>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorFromStatus(status: Record<string, unknown>): ApiError {
  return new ApiError(typeof status.code === "number" ? status.code : 500, {
    reason: typeof status.reason === "string" ? status.reason : undefined,
    message: typeof status.message === "string" ? status.message : undefined,
  });
}

/**
 * The client behind `CustomResource.client`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, type InferResource } from "@k8s-operator/k8s-operator/crd";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * import { ResourceClientImpl } from "./_client.ts";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * await using server = await TestApiServer.start(); // or a cluster's KubeConfig
 * const kubeConfig = server.kubeConfig();
 * await Website.install(kubeConfig, { fieldManager: "website-operator" });
 * const websites = new ResourceClientImpl<InferResource<typeof Website>>(Website, kubeConfig, {});
 * assert.equal((await websites.list()).items.length, 0);
 * ```
 */
export class ResourceClientImpl<T> implements ResourceClient<T> {
  readonly #target: ClientTarget;
  readonly #client: KubeClient;
  readonly #namespace: string;

  constructor(
    target: ClientTarget,
    source: ClientSource,
    options: ResourceClientOptions,
  ) {
    this.#target = target;
    if (source instanceof KubeClient) {
      this.#client = source;
      this.#namespace = options.namespace ?? "default";
    } else {
      this.#client = KubeClient.fromKubeConfig(source, {
        timeoutMs: options.requestTimeoutMs,
      });
      const context = source.getContextObject(source.getCurrentContext());
      this.#namespace = options.namespace ?? context?.namespace ?? "default";
    }
  }

  #base(namespace: string | undefined, all = false): string {
    const t = this.#target;
    const group = `/apis/${t.group}/${t.version}`;
    if (t.scope === "Cluster") {
      if (namespace !== undefined) {
        throw new TypeError(
          `Expected no namespace for the cluster-scoped ${t.kind}, found ${
            JSON.stringify(namespace)
          }`,
        );
      }
      return `${group}/${t.plural}`;
    }
    if (all) return `${group}/${t.plural}`;
    const ns = namespace ?? this.#namespace;
    return `${group}/namespaces/${encodeURIComponent(ns)}/${t.plural}`;
  }

  #item(name: string, namespace: string | undefined, sub = ""): string {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Expected a non-empty object name, found ${JSON.stringify(name)}`,
      );
    }
    return `${this.#base(namespace)}/${encodeURIComponent(name)}${sub}`;
  }

  #object(request: string, value: unknown): T {
    if (!isObject(value) || value.kind !== this.#target.kind) {
      throw new MalformedResponseError(
        request,
        `expected a ${this.#target.kind} object, found ${
          isObject(value) ? `kind ${JSON.stringify(value.kind)}` : typeof value
        }`,
      );
    }
    return value as T;
  }

  async #call(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; contentType?: string } = {},
  ): Promise<T> {
    const value = await this.#client.request<unknown>(method, path, options);
    return this.#object(`${method} ${path}`, value);
  }

  #validate(
    object: unknown,
    operation: "create" | "update",
  ): Record<string, unknown> {
    const problems = this.#target.problems(object, { operation });
    if (problems.length > 0) {
      const name = isObject(object) && isObject(object.metadata)
        ? object.metadata.name
        : undefined;
      throw new ValidationError(
        typeof name === "string"
          ? `${this.#target.kind} ${JSON.stringify(name)}`
          : this.#target.kind,
        { fields: problems, serverOnlyRules: this.#target.serverOnlyRules },
      );
    }
    return object as Record<string, unknown>;
  }

  #namespaceOf(
    metadata: Record<string, unknown>,
    options: NamespaceOptions,
  ): string | undefined {
    const own = typeof metadata.namespace === "string"
      ? metadata.namespace
      : undefined;
    if (
      own !== undefined && options.namespace !== undefined &&
      own !== options.namespace
    ) {
      throw new TypeError(
        `Expected metadata.namespace and the namespace option to agree, found ${
          JSON.stringify(own)
        } and ${JSON.stringify(options.namespace)}`,
      );
    }
    return own ?? options.namespace;
  }

  async get(name: string, options: NamespaceOptions = {}): Promise<T> {
    return await this.#call("GET", this.#item(name, options.namespace));
  }

  async list(options: ResourceListOptions = {}): Promise<ResourceList<T>> {
    const path = this.#base(options.namespace, options.allNamespaces);
    const value = await this.#client.request<unknown>("GET", path, {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
      },
    });
    if (!isObject(value) || !Array.isArray(value.items)) {
      throw new MalformedResponseError(
        `GET ${path}`,
        "expected a list with items, found none",
      );
    }
    return {
      apiVersion: String(value.apiVersion ?? this.#target.apiVersion),
      kind: String(value.kind ?? `${this.#target.kind}List`),
      metadata: isObject(value.metadata) ? value.metadata : {},
      items: value.items.map((item) => {
        const object = isObject(item) ? { ...item } : item;
        if (isObject(object)) {
          object.apiVersion ??= this.#target.apiVersion;
          object.kind ??= this.#target.kind;
        }
        return this.#object(`GET ${path}`, object);
      }),
    };
  }

  #writeQuery(options: WriteOptions): Query {
    return {
      fieldManager: options.fieldManager,
      dryRun: options.dryRun ? "All" : undefined,
    };
  }

  async create(object: T, options: WriteOptions = {}): Promise<T> {
    const valid = this.#validate(object, "create");
    const metadata = valid.metadata as Record<string, unknown>;
    return await this.#call(
      "POST",
      this.#base(this.#namespaceOf(metadata, options)),
      {
        body: valid,
        query: this.#writeQuery(options),
      },
    );
  }

  async replace(object: T, options: WriteOptions = {}): Promise<T> {
    const valid = this.#validate(object, "update");
    const metadata = valid.metadata as Record<string, unknown>;
    const path = this.#item(
      String(metadata.name ?? ""),
      this.#namespaceOf(metadata, options),
    );
    return await this.#call("PUT", path, {
      body: valid,
      query: this.#writeQuery(options),
    });
  }

  #patchBody(
    name: string,
    patch: unknown,
    options: ResourcePatchOptions,
    type: ResourcePatchType,
  ): unknown {
    if (type === "json") {
      const ops = Array.isArray(patch) ? patch : undefined;
      const bad = ops?.findIndex((op) =>
        !isObject(op) || !JSON_PATCH_OPS.has(String(op.op)) ||
        typeof op.path !== "string"
      );
      if (ops === undefined || bad !== -1) {
        throw new TypeError(
          `Expected a JSON patch to be an array of {op, path} operations, found ${
            ops === undefined
              ? typeof patch
              : `an invalid operation at index ${bad}`
          }`,
        );
      }
      return ops;
    }
    if (!isObject(patch)) {
      throw new TypeError(
        `Expected a ${type} patch to be an object, found ${
          Array.isArray(patch) ? "array" : typeof patch
        }`,
      );
    }
    if (type === "merge") return patch;
    if (!options.fieldManager) {
      throw new TypeError(
        "Expected a fieldManager for a server-side apply patch, found none",
      );
    }
    const metadata = isObject(patch.metadata) ? { ...patch.metadata } : {};
    metadata.name ??= name;
    if (this.#target.scope === "Namespaced" && options.namespace) {
      metadata.namespace ??= options.namespace;
    }
    return {
      ...patch,
      apiVersion: patch.apiVersion ?? this.#target.apiVersion,
      kind: patch.kind ?? this.#target.kind,
      metadata,
    };
  }

  async #patch(
    name: string,
    patch: unknown,
    options: ResourcePatchOptions,
    sub: string,
  ): Promise<T> {
    const type = options.type ?? "merge";
    if (!PATCH_TYPES.has(type)) {
      throw new TypeError(
        `Expected a patch type of merge, json or apply, found ${
          JSON.stringify(type)
        }`,
      );
    }
    const path = this.#item(name, options.namespace, sub);
    return await this.#call("PATCH", path, {
      body: this.#patchBody(name, patch, options, type),
      contentType: PATCH_CONTENT_TYPES[type],
      query: {
        ...this.#writeQuery(options),
        force: type === "apply" && options.force ? "true" : undefined,
      },
    });
  }

  patch(
    name: string,
    patch: unknown,
    options: ResourcePatchOptions = {},
  ): Promise<T> {
    return this.#patch(name, patch, options, "");
  }

  patchStatus(
    name: string,
    patch: unknown,
    options: ResourcePatchOptions = {},
  ): Promise<T> {
    return this.#patch(name, patch, options, "/status");
  }

  async delete(
    name: string,
    options: DeleteOptions = {},
  ): Promise<T | undefined> {
    const body: Record<string, unknown> = {
      apiVersion: "v1",
      kind: "DeleteOptions",
    };
    if (options.propagationPolicy) {
      body.propagationPolicy = options.propagationPolicy;
    }
    if (options.gracePeriodSeconds !== undefined) {
      body.gracePeriodSeconds = options.gracePeriodSeconds;
    }
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.dryRun) body.dryRun = ["All"];
    const value = await this.#client.request<unknown>(
      "DELETE",
      this.#item(name, options.namespace),
      { body },
    );
    return isObject(value) && value.kind === this.#target.kind
      ? value as T
      : undefined;
  }

  async *watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const path = this.#base(options.namespace, options.allNamespaces);
    const request = `GET ${path}?watch=true`;
    const signal = options.signal;
    if (signal?.aborted) return;
    let response: Response;
    try {
      response = await this.#client.fetch("GET", path, {
        query: {
          watch: "true",
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: options.allowWatchBookmarks ? "true" : undefined,
          timeoutSeconds: options.timeoutSeconds,
        },
        signal,
      });
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    if (!response.ok) throw await readApiError(response);
    if (response.body === null) {
      throw new MalformedResponseError(request, "expected a body, found none");
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline !== -1) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== "") yield this.#event(request, line);
          if (signal?.aborted) return;
          newline = buffered.indexOf("\n");
        }
        if (buffered.length > MAX_WATCH_LINE) {
          throw new MalformedResponseError(
            request,
            `expected watch events of at most ${MAX_WATCH_LINE} characters, found a longer line`,
          );
        }
      }
      const rest = (buffered + decoder.decode()).trim();
      if (rest !== "") yield this.#event(request, rest);
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  #event(request: string, line: string): WatchEvent<T> {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      throw new MalformedResponseError(
        request,
        `expected a JSON watch event, found ${
          JSON.stringify(line.slice(0, 100))
        }`,
      );
    }
    if (!isObject(event) || !isObject(event.object)) {
      throw new MalformedResponseError(
        request,
        "expected a watch event with type and object, found another value",
      );
    }
    if (event.type === "ERROR") throw errorFromStatus(event.object);
    if (
      event.type !== "ADDED" && event.type !== "MODIFIED" &&
      event.type !== "DELETED" && event.type !== "BOOKMARK"
    ) {
      throw new MalformedResponseError(
        request,
        `expected an event type of ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, found ${
          JSON.stringify(event.type)
        }`,
      );
    }
    const object = event.type === "BOOKMARK"
      ? event.object as T
      : this.#object(request, event.object);
    return { type: event.type, object };
  }
}
