/**
 * The client behind `CustomResource.client`: requests over `node:https`
 * with a `KubeConfig`'s TLS settings and credentials.
 *
 * @module
 */
import * as http from "node:http";
import * as https from "node:https";
import {
  ApiError,
  type ApiStatus,
  MalformedResponseError,
  ValidationError,
} from "./errors.ts";
import type {
  ClientTarget,
  DeleteOptions,
  KubeConfigLike,
  ListOptions,
  NamespaceOptions,
  PatchOptions,
  PatchType,
  ResourceClient,
  ResourceClientOptions,
  ResourceList,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from "./client.ts";

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

const JSON_PATCH_OPS = new Set([
  "add",
  "remove",
  "replace",
  "move",
  "copy",
  "test",
]);

interface RawResponse {
  status: number;
  statusText: string;
  body: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toApiError(request: string, response: RawResponse): ApiError {
  let status: ApiStatus | undefined;
  try {
    const parsed = JSON.parse(response.body);
    if (isObject(parsed) && parsed.kind === "Status") {
      status = parsed as ApiStatus;
    }
  } catch {
    status = undefined;
  }
  return new ApiError(request, {
    code: response.status,
    reason: status?.reason || response.statusText ||
      http.STATUS_CODES[response.status] || "Unknown",
    message: status?.message ||
      response.body.slice(0, 200) || "(empty body)",
    status,
  });
}

/**
 * The client behind `CustomResource.client`.
 *
 * @example
 * ```ts ignore
 * const websites = new ResourceClientImpl<Website>(Website, kubeConfig, {});
 * ```
 */
export class ResourceClientImpl<T> implements ResourceClient<T> {
  readonly #target: ClientTarget;
  readonly #kubeConfig: KubeConfigLike;
  readonly #namespace: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;

  constructor(
    target: ClientTarget,
    kubeConfig: KubeConfigLike,
    options: ResourceClientOptions,
  ) {
    this.#target = target;
    this.#kubeConfig = kubeConfig;
    const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
    this.#namespace = options.namespace ?? context?.namespace ?? "default";
    this.#maxBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
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

  async #send(
    method: string,
    path: string,
    options: {
      query?: Record<string, string | undefined>;
      body?: unknown;
      contentType?: string;
    } = {},
  ): Promise<RawResponse> {
    const { url, request } = await this.#open(method, path, options.query);
    const payload = options.body === undefined
      ? undefined
      : JSON.stringify(options.body);
    return await new Promise<RawResponse>((resolve, reject) => {
      const headers: Record<string, string> = { Accept: "application/json" };
      if (payload !== undefined) {
        headers["Content-Type"] = options.contentType ?? "application/json";
        headers["Content-Length"] = String(
          new TextEncoder().encode(payload).length,
        );
      }
      const req = request(url, headers, (res) => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (chunk: Uint8Array) => {
          size += chunk.length;
          if (size > this.#maxBytes) {
            req.destroy();
            reject(
              new MalformedResponseError(
                `${method} ${path}`,
                `expected at most ${this.#maxBytes} bytes, found more`,
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            body: new TextDecoder().decode(concat(chunks, size)),
          }));
        res.on("error", reject);
      });
      req.setTimeout(this.#timeoutMs, () => {
        req.destroy(
          new Error(
            `Expected a response to ${method} ${path} within ${this.#timeoutMs} ms, found none`,
          ),
        );
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  async #open(
    method: string,
    path: string,
    query: Record<string, string | undefined> = {},
  ): Promise<{
    url: URL;
    request: (
      url: URL,
      headers: Record<string, string>,
      onResponse: (res: http.IncomingMessage) => void,
    ) => http.ClientRequest;
  }> {
    const cluster = this.#kubeConfig.getCurrentCluster();
    if (cluster === null) {
      throw new TypeError(
        "Expected a current cluster in the KubeConfig, found none",
      );
    }
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    const base: https.RequestOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(base);
    const transport = url.protocol === "http:" ? http : https;
    return {
      url,
      request: (target, headers, onResponse) =>
        transport.request(target, {
          ...base,
          method,
          headers: {
            ...(base.headers as Record<string, string> | undefined),
            ...headers,
          },
        }, onResponse),
    };
  }

  async #json(
    method: string,
    path: string,
    options: {
      query?: Record<string, string | undefined>;
      body?: unknown;
      contentType?: string;
    } = {},
  ): Promise<unknown> {
    const request = `${method} ${path}`;
    const response = await this.#send(method, path, options);
    if (response.status < 200 || response.status >= 300) {
      throw toApiError(request, response);
    }
    try {
      return JSON.parse(response.body);
    } catch {
      throw new MalformedResponseError(
        request,
        `expected a JSON body, found ${
          JSON.stringify(response.body.slice(0, 100))
        }`,
      );
    }
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

  #validate(object: unknown): Record<string, unknown> {
    const problems = this.#target.problems(object);
    if (problems.length > 0) {
      const name = isObject(object) && isObject(object.metadata)
        ? object.metadata.name
        : undefined;
      throw new ValidationError(
        typeof name === "string"
          ? `${this.#target.kind} ${JSON.stringify(name)}`
          : this.#target.kind,
        problems,
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
    const path = this.#item(name, options.namespace);
    return this.#object(`GET ${path}`, await this.#json("GET", path));
  }

  async list(options: ListOptions = {}): Promise<ResourceList<T>> {
    const path = this.#base(options.namespace, options.allNamespaces);
    const value = await this.#json("GET", path, {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit?.toString(),
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

  #writeQuery(options: WriteOptions): Record<string, string | undefined> {
    return {
      fieldManager: options.fieldManager,
      dryRun: options.dryRun ? "All" : undefined,
    };
  }

  async create(object: T, options: WriteOptions = {}): Promise<T> {
    const valid = this.#validate(object);
    const metadata = valid.metadata as Record<string, unknown>;
    const path = this.#base(this.#namespaceOf(metadata, options));
    return this.#object(
      `POST ${path}`,
      await this.#json("POST", path, {
        body: valid,
        query: this.#writeQuery(options),
      }),
    );
  }

  async replace(object: T, options: WriteOptions = {}): Promise<T> {
    const valid = this.#validate(object);
    const metadata = valid.metadata as Record<string, unknown>;
    const path = this.#item(
      String(metadata.name ?? ""),
      this.#namespaceOf(metadata, options),
    );
    return this.#object(
      `PUT ${path}`,
      await this.#json("PUT", path, {
        body: valid,
        query: this.#writeQuery(options),
      }),
    );
  }

  #patchBody(
    name: string,
    patch: unknown,
    options: PatchOptions,
    type: PatchType,
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
    options: PatchOptions,
    sub: string,
  ): Promise<T> {
    const type = options.type ?? "merge";
    if (!(type in CONTENT_TYPES)) {
      throw new TypeError(
        `Expected a patch type of merge, json or apply, found ${
          JSON.stringify(type)
        }`,
      );
    }
    const path = this.#item(name, options.namespace, sub);
    const body = this.#patchBody(name, patch, options, type);
    return this.#object(
      `PATCH ${path}`,
      await this.#json("PATCH", path, {
        body,
        contentType: CONTENT_TYPES[type],
        query: {
          ...this.#writeQuery(options),
          force: type === "apply" && options.force ? "true" : undefined,
        },
      }),
    );
  }

  patch(name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    return this.#patch(name, patch, options, "");
  }

  patchStatus(
    name: string,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.#patch(name, patch, options, "/status");
  }

  async delete(
    name: string,
    options: DeleteOptions = {},
  ): Promise<T | undefined> {
    const path = this.#item(name, options.namespace);
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
    const value = await this.#json("DELETE", path, { body });
    return isObject(value) && value.kind === this.#target.kind
      ? value as T
      : undefined;
  }

  async *watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const path = this.#base(options.namespace, options.allNamespaces);
    const request = `GET ${path}?watch=true`;
    const { url, request: open } = await this.#open("GET", path, {
      watch: "true",
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: options.allowWatchBookmarks ? "true" : undefined,
      timeoutSeconds: options.timeoutSeconds?.toString(),
    });
    const signal = options.signal;
    if (signal?.aborted) return;
    let req: http.ClientRequest | undefined;
    let response: http.IncomingMessage | undefined;
    const abort = () => {
      response?.on("error", ignore);
      req?.on("error", ignore);
      req?.destroy();
      response?.destroy();
    };
    signal?.addEventListener("abort", abort, { once: true });
    try {
      response = await new Promise<http.IncomingMessage>(
        (resolve, reject) => {
          req = open(url, { Accept: "application/json" }, resolve);
          req.on("error", reject);
          req.end();
        },
      );
    } catch (error) {
      signal?.removeEventListener("abort", abort);
      if (signal?.aborted) return;
      throw error;
    }
    try {
      if ((response.statusCode ?? 0) !== 200) {
        const chunks: Uint8Array[] = [];
        let size = 0;
        for await (const chunk of response) {
          chunks.push(chunk);
          size += chunk.length;
          if (size > 1024 * 1024) break;
        }
        throw toApiError(request, {
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? "",
          body: new TextDecoder().decode(concat(chunks, size)),
        });
      }
      const decoder = new TextDecoder();
      let buffered = "";
      try {
        for await (const chunk of response as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let newline = buffered.indexOf("\n");
          while (newline !== -1) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line !== "") yield this.#event(request, line);
            if (signal?.aborted) return;
            newline = buffered.indexOf("\n");
          }
          if (buffered.length > this.#maxBytes) {
            throw new MalformedResponseError(
              request,
              `expected watch events of at most ${this.#maxBytes} bytes, found a longer line`,
            );
          }
        }
        const rest = (buffered + decoder.decode()).trim();
        if (rest !== "") yield this.#event(request, rest);
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    } finally {
      signal?.removeEventListener("abort", abort);
      abort();
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
    if (event.type === "ERROR") {
      const status = event.object as ApiStatus;
      throw new ApiError(request, {
        code: status.code ?? 500,
        reason: status.reason ?? "Unknown",
        message: status.message ?? "watch error",
        status,
      });
    }
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

function ignore(): void {}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
