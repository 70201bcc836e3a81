/**
 * A small Kubernetes REST client on `fetch`: namespaced URLs, the right
 * patch content types, typed API errors, and a fenced view whose requests
 * fail once leadership ends. Authentication and TLS come from
 * `@kubernetes/client-node`'s `KubeConfig` (`kubeconfig.ts`); the object,
 * patch and error types from `objects.ts`, `patch.ts` and `errors.ts`.
 *
 * @module
 */
import process from "node:process";
import { type Clock, sleep, systemClock } from "../common/clock.ts";
import { TokenBucket } from "../common/rate_limiter.ts";
import { KubeConfigTransport } from "./_kubeconfig_transport.ts";
import { VERSION } from "./_version.ts";
import { ApiError, FencedError, readApiError } from "./errors.ts";
import type { KubeConfig } from "./kubeconfig.ts";
import {
  apiVersionOf,
  type KubeList,
  type KubeObject,
  resourcePath,
  type ResourceType,
} from "./objects.ts";
import {
  PATCH_CONTENT_TYPES,
  type PatchType,
  withResourceVersion,
} from "./patch.ts";

/**
 * Sends one HTTP request; the client's only contact with the network.
 *
 * @example A canned transport for unit tests
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type Transport } from "./mod.ts";
 * const requests: string[] = [];
 * const transport: Transport = (method, url) => {
 *   requests.push(`${method} ${new URL(url).pathname}`);
 *   return Promise.resolve(Response.json({ metadata: { name: "web", namespace: "default" } }));
 * };
 * const client = new KubeClient({ server: "https://kube.test", transport });
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await client.get(configMaps, "web", { namespace: "default" });
 * assert.deepEqual(requests, ["GET /api/v1/namespaces/default/configmaps/web"]);
 * ```
 */
export type Transport = (
  method: string,
  url: string,
  init: {
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    /**
     * Set on a fenced client: call it synchronously as the last step before
     * the request goes to the network (after any await of the transport's
     * own, such as refreshing credentials); it throws
     * {@linkcode FencedError} when the fence no longer holds, and then the
     * request must not be sent. The client also calls it right before it
     * calls the transport.
     */
    checkFence?: () => void;
  },
) => Promise<Response>;

/**
 * Options of one request.
 *
 * @example A server-side dry run
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type RequestOptions, resourcePath } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const options: RequestOptions = {
 *   query: { dryRun: "All", fieldManager: "my-operator" },
 *   body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web" }, data: { mode: "blue" } },
 *   signal: AbortSignal.timeout(5_000),
 * };
 * await client.request("POST", resourcePath(configMaps, { namespace: "default" }), options);
 * assert.equal((await client.list(configMaps, { namespace: "default" })).items.length, 0); // a dry run stores nothing
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
 * import assert from "node:assert/strict";
 * import { KubeClient, type ObjectOptions } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const secrets = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };
 * await client.create(secrets, { metadata: { name: "web-tls", namespace: "default" } });
 * const options: ObjectOptions = { namespace: "default", signal: AbortSignal.timeout(2_000) };
 * const secret = await client.get(secrets, "web-tls", options);
 * await client.delete(secrets, "web-tls", options);
 * assert.equal(secret.metadata.name, "web-tls");
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
 * import assert from "node:assert/strict";
 * import { KubeClient, type ListOptions } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const pods = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
 * const options: ListOptions = {
 *   namespace: "default",
 *   labelSelector: "app=web,tier!=db",
 *   fieldSelector: "metadata.name!=other",
 *   limit: 500,
 * };
 * const { items, metadata } = await client.list(pods, options);
 * assert.deepEqual(items, []);
 * assert.equal(metadata.continue ?? "", ""); // set when more pages remain
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
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject, type PatchOptions } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const options: PatchOptions = { namespace: "default", type: "apply", fieldManager: "my-operator", force: true };
 * const applied = await client.patch<KubeObject & { data?: Record<string, string> }>(configMaps, "web", {
 *   apiVersion: "v1",
 *   kind: "ConfigMap",
 *   metadata: { name: "web" },
 *   data: { mode: "blue" },
 * }, options); // creates it, or updates the fields my-operator owns
 * assert.equal(applied.data?.mode, "blue");
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
  /**
   * A precondition: the patch fails with 409 (merge, strategic, apply) or
   * 422 (JSON patch, as a `test` op) unless the object is still at this
   * resourceVersion.
   */
  resourceVersion?: string;
}

/**
 * Options of {@linkcode KubeClient.delete}.
 *
 * @example Delete only the object you read, and its dependents first
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DeleteObjectOptions, KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const plan: KubeObject = await client.create(configMaps, { metadata: { name: "migrate", namespace: "default" } });
 * const options: DeleteObjectOptions = {
 *   namespace: "default",
 *   propagationPolicy: "Foreground",
 *   preconditions: { uid: plan.metadata.uid, resourceVersion: plan.metadata.resourceVersion },
 * };
 * await client.delete(configMaps, "migrate", options); // a 409 if it was replaced or changed meanwhile
 * await assert.rejects(client.get(configMaps, "migrate", { namespace: "default" }));
 * ```
 */
export interface DeleteObjectOptions extends ObjectOptions {
  /** What happens to dependents (default: the resource's, usually `Background`). */
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Fail with 409 unless the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Seconds before the object is deleted (pods); `0` for at once. */
  gracePeriodSeconds?: number;
  /** Validate only, change nothing. */
  dryRun?: boolean;
}

/**
 * What else fences a client besides its signal (see
 * {@linkcode KubeClient.fenced}).
 *
 * @example Fencing by the leader guard at send time
 * ```ts
 * import assert from "node:assert/strict";
 * import { FencedError, KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { LeaderElection } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const election = new LeaderElection(0);
 * election.setRole("leader", 1);
 * const guard = election.guard();
 * const fenced = client.fenced(guard.signal, { check: () => guard.check() });
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await fenced.create(configMaps, { metadata: { name: "web", namespace: "default" } }); // while leading
 * election.setRole("follower", 2);
 * await assert.rejects(fenced.delete(configMaps, "web", { namespace: "default" }), FencedError);
 * ```
 */
export interface FenceOptions {
  /**
   * Called synchronously immediately before each request is handed to the
   * network (after any rate-limit wait and credential refresh); a throw
   * refuses the request with {@linkcode FencedError}. For instance
   * `() => guard.check()`, which compares the lease with the clock itself
   * instead of waiting for a timer.
   */
  check?: () => void;
}

/**
 * A client-side request rate limit (client-go's QPS and burst).
 *
 * @example
 * ```ts
 * import type { RateLimit } from "./mod.ts";
 * const limit: RateLimit = { qps: 50, burst: 100 }; // as a busy controller-manager
 * ```
 */
export interface RateLimit {
  /** Requests per second after the burst. */
  qps: number;
  /** Requests let through at once. */
  burst: number;
}

/**
 * How to build a {@linkcode KubeClient}.
 *
 * @example A bearer-token client over `fetch`
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeClientOptions } from "@k8s-operator/k8s-operator/controller";
 * const token = "s3cret"; // e.g. a service account token
 * const sent: Headers[] = [];
 * const options: KubeClientOptions = {
 *   server: "https://127.0.0.1:6443",
 *   transport: (_method, _url, init) => {
 *     const headers = new Headers(init.headers);
 *     headers.set("authorization", `Bearer ${token}`);
 *     sent.push(headers);
 *     return Promise.resolve(new Response(JSON.stringify({ items: [], metadata: {} }))); // or fetch(url, ...)
 *   },
 *   timeoutMs: 10_000,
 * };
 * const client = new KubeClient(options);
 * await client.list({ group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true });
 * assert.equal(sent[0].get("authorization"), "Bearer s3cret");
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
  /**
   * A client-side rate limit shared by every request of this client and
   * its fenced views, or `null` for none (the default: API Priority and
   * Fairness protects the server, and a 429 is retried with backoff).
   */
  rateLimit?: RateLimit | null;
  /**
   * The `User-Agent` header (default
   * `k8s-operator/<version> (<os>/<arch>) <runtime>`), so audit logs and
   * API Priority and Fairness can tell the operator apart.
   */
  userAgent?: string;
  /** The clock the rate limiter waits on (default the system clock). */
  clock?: Clock;
}

/**
 * Options of {@linkcode KubeClient.fromKubeConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: loadKubeConfig()
 * const client = KubeClient.fromKubeConfig(server.kubeConfig(), {
 *   timeoutMs: 10_000,
 *   rateLimit: { qps: 20, burst: 30 },
 *   userAgent: "widget-operator/1.4.0",
 * });
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * assert.deepEqual((await client.list(configMaps, { namespace: "default" })).items, []);
 * ```
 */
export interface FromKubeConfigOptions
  extends Omit<KubeClientOptions, "server" | "transport" | "fence"> {
  /**
   * How often credentials and TLS material are read again (default
   * 10,000 ms; also at once after a 401 or a request that got no answer).
   */
  authRefreshMs?: number;
  /**
   * Ask for gzip on every request but a watch (default `true`):
   * kube-apiserver compresses a list or get answer over 128 KiB then, about
   * tenfold for typical objects, at some CPU time on both sides. `false`
   * asks for none (a client next to its API server, on loopback, saves
   * nothing).
   */
  compression?: boolean;
  /**
   * The most bytes a response body read whole may have, after
   * decompression (default 128 MiB, 134,217,728): a larger one, a gzip
   * bomb, a truncated or corrupt gzip body, or a content-encoding not asked
   * for (on a watch, or another than gzip) fails with
   * {@linkcode ApiError} `MalformedResponse`. A watch's stream, which is
   * never compressed, is not capped.
   */
  maxResponseBytes?: number;
}

/**
 * A thin Kubernetes REST client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeConfig } from "@kubernetes/client-node";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const kc = new KubeConfig();
 * kc.loadFromString(server.kubeConfigYaml()); // in a pod: kc.loadFromDefault()
 * const client = KubeClient.fromKubeConfig(kc);
 * const cm = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const list = await client.list(cm, { namespace: "default" });
 * assert.deepEqual(list.items, []);
 * ```
 */
export class KubeClient {
  /** The API server's base URL. */
  readonly server: string;
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #clock: Clock;
  readonly #rateLimit: RateLimit | null;
  #bucket: TokenBucket | null;
  #fence: AbortSignal | undefined;
  #checks: ReadonlyArray<() => void> = [];

  /** Creates a client over a transport. */
  constructor(options: KubeClientOptions) {
    this.server = options.server.replace(/\/+$/, "");
    this.#transport = options.transport;
    this.#fence = options.fence;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#clock = options.clock ?? systemClock;
    this.#rateLimit = options.rateLimit ?? null;
    this.#bucket = this.#rateLimit
      ? new TokenBucket(this.#rateLimit, this.#clock.now())
      : null;
  }

  /**
   * A client that authenticates and verifies TLS as `kubeConfig` says (its
   * current context), sending requests with undici's `Dispatcher.request()`
   * over one connection pool, asking for gzip on every request but a watch
   * (`compression`) and capping bodies read whole at `maxResponseBytes`. Credentials and TLS material (token, client
   * certificate and key from files, data or an exec plugin, CA) are read
   * again every `authRefreshMs`, and at once after a 401 or a request
   * that got no answer; the pool is rebuilt when the CA, certificate or
   * key bytes changed, so rotated certificates are picked up without a
   * restart.
   */
  static fromKubeConfig(
    kubeConfig: KubeConfig,
    options: FromKubeConfigOptions = {},
  ): KubeClient {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) {
      throw new TypeError(
        "Expected a current cluster in the KubeConfig, found none",
      );
    }
    const maxResponseBytes = options.maxResponseBytes ?? 128 * 1024 * 1024;
    if (!(maxResponseBytes > 0)) {
      throw new TypeError(
        `Expected maxResponseBytes to be a positive number, found ${maxResponseBytes}`,
      );
    }
    const clock = options.clock ?? systemClock;
    const sender = new KubeConfigTransport(kubeConfig, {
      clock,
      refreshMs: options.authRefreshMs ?? 10_000,
      compression: options.compression ?? true,
      maxResponseBytes,
    });
    return new KubeClient({
      ...options,
      server: cluster.server,
      transport: (method, url, init) => sender.send(method, url, init),
      clock,
    });
  }

  /** The fence signal, if this client is fenced. */
  get fence(): AbortSignal | undefined {
    return this.#fence;
  }

  /** The client-side rate limit, or `null` when there is none (the default). */
  get rateLimit(): RateLimit | null {
    return this.#rateLimit;
  }

  /**
   * The same client, fenced by `signal` (and `options.check`): once the
   * signal aborts or the check throws, requests fail with
   * {@linkcode FencedError} without being sent, and requests in flight are
   * cancelled. Both are checked again synchronously immediately before each
   * request is handed to the network; see the README's "What fencing
   * cannot do" for what happens after that.
   */
  fenced(signal: AbortSignal, options: FenceOptions = {}): KubeClient {
    const view = new KubeClient({
      server: this.server,
      transport: this.#transport,
      timeoutMs: this.#timeoutMs,
      userAgent: this.#userAgent,
      clock: this.#clock,
      rateLimit: this.#rateLimit,
    });
    view.#bucket = this.#bucket;
    view.#fence = this.#fence ? AbortSignal.any([this.#fence, signal]) : signal;
    view.#checks = options.check
      ? [...this.#checks, options.check]
      : this.#checks;
    return view;
  }

  #assertFence(method: string, path: string): void {
    if (this.#fence?.aborted) {
      throw new FencedError(
        `Expected to hold leadership for ${method} ${path}, found it lost`,
        { cause: this.#fence.reason },
      );
    }
    for (const check of this.#checks) {
      try {
        check();
      } catch (error) {
        if (error instanceof FencedError) throw error;
        throw new FencedError(
          `Expected the fence to hold for ${method} ${path}, found: ${
            error instanceof Error ? error.message : String(error)
          }`,
          { cause: error },
        );
      }
    }
  }

  /**
   * Sends a request and returns the raw response (any status). A fenced
   * client checks its fence first, after the rate limiter's wait, and once
   * more as the transport's last step before the network.
   */
  async fetch(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Response> {
    this.#assertFence(method, path);
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": this.#userAgent,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      body = JSON.stringify(options.body);
    }
    const signals = [options.signal, this.#fence].filter((s) =>
      s !== undefined
    );
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    if (this.#bucket) {
      const wait = this.#bucket.reserve(this.#clock.now());
      if (wait > 0) {
        try {
          await sleep(this.#clock, wait, signal);
        } catch (error) {
          this.#assertFence(method, path);
          throw error;
        }
      }
    }
    const fenced = this.#fence !== undefined || this.#checks.length > 0;
    const checkFence = fenced
      ? () => this.#assertFence(method, path)
      : undefined;
    checkFence?.();
    return await this.#transport(method, url.toString(), {
      headers,
      body,
      signal,
      checkFence,
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
    if (!response.ok) throw await readApiError(response);
    const text = await response.text();
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

  /**
   * Patches an object with the content type of the patch flavour; with
   * `resourceVersion`, only if the object is still at that version.
   */
  patch<T extends KubeObject>(
    resource: ResourceType,
    name: string,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    const type = options.type ?? "merge";
    if (options.resourceVersion !== undefined) {
      patch = withResourceVersion(patch, type, options.resourceVersion);
    }
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

  /**
   * Deletes an object; returns the server's answer (the object, while
   * finalizers hold it, or a Status). Preconditions, propagation policy,
   * grace period and dry run go in a `DeleteOptions` body.
   */
  delete(
    resource: ResourceType,
    name: string,
    options: DeleteObjectOptions = {},
  ): Promise<unknown> {
    const body: Record<string, unknown> = {};
    if (options.propagationPolicy !== undefined) {
      body.propagationPolicy = options.propagationPolicy;
    }
    if (options.preconditions !== undefined) {
      body.preconditions = options.preconditions;
    }
    if (options.gracePeriodSeconds !== undefined) {
      body.gracePeriodSeconds = options.gracePeriodSeconds;
    }
    if (options.dryRun) body.dryRun = ["All"];
    return this.request(
      "DELETE",
      resourcePath(resource, { namespace: options.namespace, name }),
      {
        signal: options.signal,
        body: Object.keys(body).length === 0
          ? undefined
          : { apiVersion: "v1", kind: "DeleteOptions", ...body },
      },
    );
  }
}

const DEFAULT_USER_AGENT =
  `k8s-operator/${VERSION} (${process.platform}/${process.arch}) ${
    typeof navigator === "object" && navigator.userAgent
      ? navigator.userAgent
      : "unknown-runtime"
  }`;
