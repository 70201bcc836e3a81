/**
 * A small Kubernetes REST client on `fetch`: namespaced URLs, the right
 * patch content types, typed API errors, and a fenced view whose requests
 * fail once leadership ends. Authentication and TLS come from
 * `@kubernetes/client-node`'s `KubeConfig`.
 *
 * @module
 */
import {
  HttpMethod,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import { type Dispatcher, fetch as undiciFetch } from "undici";

/**
 * Which API resource a request is about.
 *
 * @example
 * ```ts
 * import { type ResourceType, resourcePath } from "./client.ts";
 * const deployments: ResourceType = {
 *   group: "apps",
 *   version: "v1",
 *   plural: "deployments",
 *   kind: "Deployment",
 *   namespaced: true,
 * };
 * resourcePath(deployments, { namespace: "prod", name: "web" }); // "/apis/apps/v1/namespaces/prod/deployments/web"
 * ```
 */
export interface ResourceType {
  /** API group; `""` for the core group. */
  group: string;
  /** API version, e.g. `v1`. */
  version: string;
  /** The plural resource name used in URLs, e.g. `configmaps`. */
  plural: string;
  /** The kind, e.g. `ConfigMap`. */
  kind: string;
  /** Whether objects live in a namespace. */
  namespaced: boolean;
}

/**
 * A reference from a child to its owner.
 *
 * @example Making a Widget the controller of a child it creates
 * ```ts
 * import type { KubeObject, OwnerReference } from "./client.ts";
 * declare const widget: KubeObject;
 * const owner: OwnerReference = {
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   name: widget.metadata.name!,
 *   uid: widget.metadata.uid!,
 *   controller: true, // Controller.owns() maps child changes back through this
 *   blockOwnerDeletion: true,
 * };
 * const child: KubeObject = { metadata: { name: "web-config", namespace: "default", ownerReferences: [owner] } };
 * ```
 */
export interface OwnerReference {
  /** The owner's apiVersion. */
  apiVersion: string;
  /** The owner's kind. */
  kind: string;
  /** The owner's name. */
  name: string;
  /** The owner's uid. */
  uid: string;
  /** Whether the owner is the managing controller. */
  controller?: boolean;
  /** Whether deletion of the owner waits for this child. */
  blockOwnerDeletion?: boolean;
}

/**
 * The metadata fields the controller reads and writes.
 *
 * @example
 * ```ts
 * import type { ObjectMeta } from "./client.ts";
 * const metadata: ObjectMeta = {
 *   name: "web",
 *   namespace: "default",
 *   labels: { "app.kubernetes.io/name": "web" },
 *   annotations: { "example.com/owner": "team-a" },
 *   finalizers: ["example.com/cleanup"],
 * };
 * ```
 */
export interface ObjectMeta {
  /** Object name. */
  name?: string;
  /** Prefix for a server-generated name. */
  generateName?: string;
  /** Namespace, for namespaced objects. */
  namespace?: string;
  /** Unique id. */
  uid?: string;
  /** Opaque version string: compared only for equality, never parsed. */
  resourceVersion?: string;
  /** Incremented by the server on spec changes. */
  generation?: number;
  /** Labels. */
  labels?: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
  /** Finalizers blocking deletion. */
  finalizers?: string[];
  /** Set once deletion was requested. */
  deletionTimestamp?: string;
  /** Creation time (RFC 3339). */
  creationTimestamp?: string;
  /** Owners of this object. */
  ownerReferences?: OwnerReference[];
}

/**
 * Any Kubernetes object.
 *
 * @example A custom resource type
 * ```ts
 * import type { KubeObject } from "./client.ts";
 * interface Widget extends KubeObject {
 *   spec: { replicas: number; image: string };
 *   status?: { readyReplicas?: number; observedGeneration?: number };
 * }
 * const widget: Widget = {
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   metadata: { name: "web", namespace: "default" },
 *   spec: { replicas: 3, image: "nginx:1.27" },
 * };
 * ```
 */
export interface KubeObject {
  /** `group/version` or `v1`. */
  apiVersion?: string;
  /** Kind. */
  kind?: string;
  /** Metadata. */
  metadata: ObjectMeta;
}

/**
 * A list response.
 *
 * @example Reading every page of a list
 * ```ts
 * import type { KubeClient, KubeList, KubeObject } from "./client.ts";
 * declare const client: KubeClient;
 * const pods = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
 * const all: KubeObject[] = [];
 * let page: KubeList<KubeObject> | undefined;
 * do {
 *   page = await client.list(pods, { namespace: "default", limit: 100, continue: page?.metadata.continue });
 *   all.push(...page.items);
 * } while (page.metadata.continue);
 * ```
 */
export interface KubeList<T> {
  /** List metadata: the resourceVersion to watch from, the continue token. */
  metadata: { resourceVersion?: string; continue?: string };
  /** The objects. */
  items: T[];
}

/**
 * A non-2xx answer from the API server.
 *
 * @example Telling a conflict from a missing object
 * ```ts
 * import { ApiError, type KubeClient } from "./client.ts";
 * declare const client: KubeClient;
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * try {
 *   await client.replace(configMaps, { metadata: { name: "web", namespace: "default", resourceVersion: "41" } });
 * } catch (error) {
 *   if (!(error instanceof ApiError)) throw error;
 *   if (error.status === 409) console.log("stale resourceVersion: re-read and retry"); // reason "Conflict"
 *   else if (error.status === 404) console.log("gone:", error.reason); // "NotFound"
 *   else if (error.retryAfterSeconds) console.log(`throttled, retry in ${error.retryAfterSeconds} s`);
 *   else throw error;
 * }
 * ```
 */
export class ApiError extends Error {
  /** The error class name. */
  override name = "ApiError";
  /** HTTP status code. */
  readonly status: number;
  /** The Status object's `reason` (e.g. `Conflict`, `NotFound`), if any. */
  readonly reason: string | undefined;
  /** Seconds the server asked us to wait (`Retry-After`), if any. */
  readonly retryAfterSeconds: number | undefined;

  /** Builds an error from a status code and the server's Status body. */
  constructor(
    status: number,
    detail: { message?: string; reason?: string; retryAfterSeconds?: number },
  ) {
    super(
      `Expected a successful response, found HTTP ${status}${
        detail.reason ? ` ${detail.reason}` : ""
      }${detail.message ? `: ${detail.message}` : ""}`,
    );
    this.status = status;
    this.reason = detail.reason;
    this.retryAfterSeconds = detail.retryAfterSeconds;
  }
}

/**
 * Thrown when a fenced client is used after its signal aborted.
 *
 * @example Writes stop once leadership is lost
 * ```ts
 * import { FencedError, type KubeClient } from "./client.ts";
 * declare const client: KubeClient;
 * const leadership = new AbortController(); // aborted when this replica stops leading
 * const fenced = client.fenced(leadership.signal);
 * leadership.abort();
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * try {
 *   await fenced.delete(configMaps, "web", { namespace: "default" });
 * } catch (error) {
 *   if (error instanceof FencedError) console.log("no longer leader: the new leader takes over");
 * }
 * ```
 */
export class FencedError extends Error {
  /** The error class name. */
  override name = "FencedError";
}

/**
 * Whether `error` is an {@linkcode ApiError} with `status`.
 *
 * @example Create unless it exists; read if it exists
 * ```ts
 * import { isApiError, type KubeClient } from "./client.ts";
 * declare const client: KubeClient;
 * const namespaces = { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false };
 * try {
 *   await client.create(namespaces, { metadata: { name: "team-a" } });
 * } catch (error) {
 *   if (!isApiError(error, 409)) throw error; // 409 AlreadyExists is fine
 * }
 * const existing = await client.get(namespaces, "team-b").catch((error) => {
 *   if (isApiError(error, 404)) return undefined; // not there
 *   throw error;
 * });
 * ```
 */
export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError &&
    (status === undefined || error.status === status);
}

/**
 * Sends one HTTP request; the client's only contact with the network.
 *
 * @example A canned transport for unit tests
 * ```ts
 * import { KubeClient, type Transport } from "./client.ts";
 * const requests: string[] = [];
 * const transport: Transport = (method, url) => {
 *   requests.push(`${method} ${new URL(url).pathname}`);
 *   return Promise.resolve(Response.json({ metadata: { name: "web", namespace: "default" } }));
 * };
 * const client = new KubeClient({ server: "https://kube.test", transport });
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await client.get(configMaps, "web", { namespace: "default" });
 * console.log(requests); // ["GET /api/v1/namespaces/default/configmaps/web"]
 * ```
 */
export type Transport = (
  method: string,
  url: string,
  init: {
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
  },
) => Promise<Response>;

const AUTH_REFRESH_MS = 10_000;

/**
 * The patch flavours and their content types.
 *
 * @example
 * ```ts
 * import type { KubeClient, PatchType } from "./client.ts";
 * declare const client: KubeClient;
 * const deployments = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
 * // "merge" (the default): application/merge-patch+json
 * await client.patch(deployments, "web", { spec: { replicas: 5 } }, { namespace: "default" });
 * const type: PatchType = "json"; // application/json-patch+json
 * const ops = [{ op: "replace", path: "/spec/replicas", value: 5 }];
 * await client.patch(deployments, "web", ops, { namespace: "default", type });
 * ```
 */
export type PatchType = "merge" | "json" | "apply" | "strategic";

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
  strategic: "application/strategic-merge-patch+json",
};

/**
 * Where an object lives.
 *
 * @example
 * ```ts
 * import { type ObjectLocation, resourcePath } from "./client.ts";
 * const widgets = { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
 * const status: ObjectLocation = { namespace: "default", name: "web", subresource: "status" };
 * resourcePath(widgets, status); // "/apis/example.com/v1/namespaces/default/widgets/web/status"
 * resourcePath(widgets, {}); // "/apis/example.com/v1/widgets" (every namespace)
 * ```
 */
export interface ObjectLocation {
  /** Namespace (required for namespaced resources when naming one object). */
  namespace?: string;
  /** Object name; omitted for collections. */
  name?: string;
  /** Subresource such as `status`. */
  subresource?: string;
}

/**
 * The URL path of a resource, a collection or an object. Namespaced objects
 * get namespaced paths; a namespaced object without a namespace is an error.
 *
 * @example
 * ```ts
 * import { resourcePath } from "./client.ts";
 * const cm = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * resourcePath(cm, { namespace: "default", name: "a" }); // "/api/v1/namespaces/default/configmaps/a"
 * ```
 */
export function resourcePath(
  resource: ResourceType,
  location: ObjectLocation = {},
): string {
  const base = resource.group === ""
    ? `/api/${resource.version}`
    : `/apis/${resource.group}/${resource.version}`;
  let path = base;
  if (resource.namespaced && location.namespace) {
    path += `/namespaces/${encodeURIComponent(location.namespace)}`;
  } else if (resource.namespaced && location.name !== undefined) {
    throw new TypeError(
      `Expected a namespace for namespaced ${resource.kind} ${location.name}, found none`,
    );
  }
  path += `/${resource.plural}`;
  if (location.name !== undefined) {
    path += `/${encodeURIComponent(location.name)}`;
    if (location.subresource) path += `/${location.subresource}`;
  }
  return path;
}

/**
 * The apiVersion string of a resource type.
 *
 * @example
 * ```ts
 * import { apiVersionOf } from "./client.ts";
 * apiVersionOf({ group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true }); // "apps/v1"
 * apiVersionOf({ group: "", version: "v1", plural: "services", kind: "Service", namespaced: true }); // "v1"
 * ```
 */
export function apiVersionOf(resource: ResourceType): string {
  return resource.group === ""
    ? resource.version
    : `${resource.group}/${resource.version}`;
}

/**
 * Options of one request.
 *
 * @example A server-side dry run
 * ```ts
 * import { type KubeClient, type RequestOptions, resourcePath } from "./client.ts";
 * declare const client: KubeClient;
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const options: RequestOptions = {
 *   query: { dryRun: "All", fieldManager: "my-operator" },
 *   body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web" }, data: { mode: "blue" } },
 *   signal: AbortSignal.timeout(5_000),
 * };
 * await client.request("POST", resourcePath(configMaps, { namespace: "default" }), options);
 * ```
 */
export interface RequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON-serialisable body. */
  body?: unknown;
  /** Content-Type of the body (default `application/json`). */
  contentType?: string;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * Options shared by object operations.
 *
 * @example
 * ```ts
 * import type { KubeClient, ObjectOptions } from "./client.ts";
 * declare const client: KubeClient;
 * const secrets = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
 * const options: ObjectOptions = { namespace: "default", signal: AbortSignal.timeout(2_000) };
 * const secret = await client.get(secrets, "web-tls", options);
 * await client.delete(secrets, "web-tls", options);
 * ```
 */
export interface ObjectOptions {
  /** Namespace of the object. */
  namespace?: string;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * Options of a list.
 *
 * @example
 * ```ts
 * import type { KubeClient, ListOptions } from "./client.ts";
 * declare const client: KubeClient;
 * const pods = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
 * const options: ListOptions = {
 *   namespace: "default",
 *   labelSelector: "app=web,tier!=db",
 *   fieldSelector: "status.phase=Running",
 *   limit: 500,
 * };
 * const { items, metadata } = await client.list(pods, options);
 * // metadata.continue is set when more pages remain
 * ```
 */
export interface ListOptions extends ObjectOptions {
  /** A label selector, e.g. `app=web,tier!=db`. */
  labelSelector?: string;
  /** A field selector. */
  fieldSelector?: string;
  /** Page size. */
  limit?: number;
  /** Continue token from the previous page. */
  continue?: string;
  /** Resource version to list at. */
  resourceVersion?: string;
}

/**
 * Options of a patch.
 *
 * @example Server-side apply
 * ```ts
 * import type { KubeClient, PatchOptions } from "./client.ts";
 * declare const client: KubeClient;
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const options: PatchOptions = { namespace: "default", type: "apply", fieldManager: "my-operator", force: true };
 * await client.patch(configMaps, "web", {
 *   apiVersion: "v1",
 *   kind: "ConfigMap",
 *   metadata: { name: "web" },
 *   data: { mode: "blue" },
 * }, options);
 * ```
 */
export interface PatchOptions extends ObjectOptions {
  /** The patch flavour (default `merge`). */
  type?: PatchType;
  /** Subresource, e.g. `status`. */
  subresource?: string;
  /** Field manager for server-side apply. */
  fieldManager?: string;
  /** Take ownership of conflicting fields on apply. */
  force?: boolean;
}

/**
 * How to build a {@linkcode KubeClient}.
 *
 * @example A bearer-token client over `fetch`
 * ```ts
 * import { KubeClient, type KubeClientOptions } from "./client.ts";
 * declare const token: string; // e.g. a service account token
 * const options: KubeClientOptions = {
 *   server: "https://127.0.0.1:6443",
 *   transport: (method, url, init) =>
 *     fetch(url, { method, ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
 *   timeoutMs: 10_000,
 * };
 * const client = new KubeClient(options);
 * ```
 */
export interface KubeClientOptions {
  /** The API server's base URL, e.g. `https://127.0.0.1:6443`. */
  server: string;
  /** Sends requests (see {@linkcode KubeClient.fromKubeConfig}). */
  transport: Transport;
  /** When aborted, every further request fails with {@linkcode FencedError}. */
  fence?: AbortSignal;
  /**
   * Cancels a non-streaming request that takes longer than this
   * (default 30,000 ms; watches have their own idle timeout).
   */
  timeoutMs?: number;
}

/**
 * A thin Kubernetes REST client.
 *
 * @example
 * ```ts ignore
 * import { KubeConfig } from "@kubernetes/client-node";
 * import { KubeClient } from "./client.ts";
 * const kc = new KubeConfig();
 * kc.loadFromDefault();
 * const client = KubeClient.fromKubeConfig(kc);
 * const cm = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const list = await client.list(cm, { namespace: "default" });
 * ```
 */
export class KubeClient {
  /** The API server's base URL. */
  readonly server: string;
  readonly #transport: Transport;
  readonly #fence: AbortSignal | undefined;
  readonly #timeoutMs: number;

  /** Creates a client over a transport. */
  constructor(options: KubeClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.#transport = options.transport;
    this.#fence = options.fence;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * A client that authenticates and verifies TLS as `kubeConfig` says (its
   * current context), sending requests with undici's `fetch`.
   */
  static fromKubeConfig(
    kubeConfig: KubeConfig,
    options: { timeoutMs?: number } = {},
  ): KubeClient {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new TypeError(
        "Expected a current cluster in the KubeConfig, found none",
      );
    }
    // client-node makes a new undici Agent (so a new TLS connection) per
    // request; keep the first one for connection reuse, and refresh the
    // auth headers every few seconds (or at once after a 401).
    let dispatcher: Dispatcher | undefined;
    let headers: Record<string, string> | undefined;
    let headersAt = 0;
    const transport: Transport = async (method, url, init) => {
      const now = performance.now();
      if (headers === undefined || now - headersAt > AUTH_REFRESH_MS) {
        const context = new RequestContext(url, HttpMethod.GET);
        await kubeConfig.applySecurityAuthentication(context);
        headers = context.getHeaders();
        headersAt = now;
        dispatcher ??= context.getDispatcher();
      }
      const response = await undiciFetch(url, {
        method,
        headers: { ...headers, ...init.headers },
        body: init.body,
        signal: init.signal,
        dispatcher,
      });
      if (response.status === 401) headers = undefined;
      return response as unknown as Response;
    };
    return new KubeClient({
      server: cluster.server,
      transport,
      timeoutMs: options.timeoutMs,
    });
  }

  /** The fence signal, if this client is fenced. */
  get fence(): AbortSignal | undefined {
    return this.#fence;
  }

  /**
   * The same client, fenced by `signal`: once it aborts, requests fail with
   * {@linkcode FencedError} and requests in flight are cancelled.
   */
  fenced(signal: AbortSignal): KubeClient {
    return new KubeClient({
      server: this.server,
      transport: this.#transport,
      fence: this.#fence ? AbortSignal.any([this.#fence, signal]) : signal,
      timeoutMs: this.#timeoutMs,
    });
  }

  /** Sends a request and returns the raw response (any status). */
  async fetch(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Response> {
    if (this.#fence?.aborted) {
      throw new FencedError(
        `Expected to hold leadership for ${method} ${path}, found it lost`,
      );
    }
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      body = JSON.stringify(options.body);
    }
    const signals = [options.signal, this.#fence].filter((s) =>
      s !== undefined
    );
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    return await this.#transport(method, url.toString(), {
      headers,
      body,
      signal,
    });
  }

  /** Sends a request; returns the JSON body or throws {@linkcode ApiError}. */
  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const response = await this.fetch(method, path, {
      ...options,
      signal: options.signal
        ? AbortSignal.any([options.signal, timeout])
        : timeout,
    });
    const text = await response.text();
    if (!response.ok) throw errorFromResponse(response, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(response.status, {
        message: `expected a JSON body, found ${
          JSON.stringify(text.slice(0, 80))
        }`,
        reason: "MalformedResponse",
      });
    }
  }

  /** Lists objects (one page when `limit` is set). */
  list<T extends KubeObject>(
    resource: ResourceType,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.request(
      "GET",
      resourcePath(resource, { namespace: options.namespace }),
      {
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          continue: options.continue,
          resourceVersion: options.resourceVersion,
        },
        signal: options.signal,
      },
    );
  }

  /** Reads one object. */
  get<T extends KubeObject>(
    resource: ResourceType,
    name: string,
    options: ObjectOptions = {},
  ): Promise<T> {
    return this.request(
      "GET",
      resourcePath(resource, { namespace: options.namespace, name }),
      { signal: options.signal },
    );
  }

  /** Creates an object (namespace taken from its metadata unless given). */
  create<T extends KubeObject>(
    resource: ResourceType,
    object: T,
    options: ObjectOptions = {},
  ): Promise<T> {
    const namespace = options.namespace ?? object.metadata.namespace;
    return this.request(
      "POST",
      resourcePath(resource, { namespace }),
      {
        body: {
          apiVersion: apiVersionOf(resource),
          kind: resource.kind,
          ...object,
        },
        signal: options.signal,
      },
    );
  }

  /** Replaces an object (PUT); a stale resourceVersion fails with 409. */
  replace<T extends KubeObject>(
    resource: ResourceType,
    object: T,
    options: ObjectOptions & { subresource?: string } = {},
  ): Promise<T> {
    const name = object.metadata.name;
    if (name === undefined) {
      throw new TypeError("Expected metadata.name to replace, found none");
    }
    return this.request(
      "PUT",
      resourcePath(resource, {
        namespace: options.namespace ?? object.metadata.namespace,
        name,
        subresource: options.subresource,
      }),
      { body: object, signal: options.signal },
    );
  }

  /** Patches an object with the content type of the patch flavour. */
  patch<T extends KubeObject>(
    resource: ResourceType,
    name: string,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    const type = options.type ?? "merge";
    return this.request(
      "PATCH",
      resourcePath(resource, {
        namespace: options.namespace,
        name,
        subresource: options.subresource,
      }),
      {
        body: patch,
        contentType: PATCH_CONTENT_TYPES[type],
        query: {
          fieldManager: options.fieldManager,
          force: options.force,
        },
        signal: options.signal,
      },
    );
  }

  /** Deletes an object; returns the server's answer (object or Status). */
  delete(
    resource: ResourceType,
    name: string,
    options: ObjectOptions = {},
  ): Promise<unknown> {
    return this.request(
      "DELETE",
      resourcePath(resource, { namespace: options.namespace, name }),
      { signal: options.signal },
    );
  }
}

/**
 * The {@linkcode ApiError} for a failed response (reads its body).
 *
 * @example
 * ```ts
 * import { readApiError } from "./client.ts";
 * const error = await readApiError(new Response("{}", { status: 500 }));
 * ```
 */
export async function readApiError(response: Response): Promise<ApiError> {
  return errorFromResponse(response, await response.text());
}

function errorFromResponse(response: Response, text: string): ApiError {
  let reason: string | undefined;
  let message: string | undefined;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason;
    message = status.message;
  } catch {
    message = text.slice(0, 200);
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new ApiError(response.status, {
    reason,
    message,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0
      ? retryAfter
      : undefined,
  });
}
