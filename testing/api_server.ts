/**
 * `TestApiServer`: an in-process HTTPS Kubernetes API server for tests.
 *
 * @module
 */
import { KubeConfig as ClientKubeConfig } from "@kubernetes/client-node";
import { ApiCore } from "./_api.ts";
import { makeTestCertificates } from "./_cert.ts";
import { kubeConfigText } from "./_kubeconfig.ts";
import { FaultInjector } from "./_faults.ts";
import { type HttpsServer, serveHttps } from "./_http.ts";
import { Router } from "./_router.ts";
import type { Faults } from "./faults.ts";

/**
 * `@kubernetes/client-node`'s `KubeConfig`, as {@link TestApiServer.kubeConfig}
 * returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { type KubeConfig, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start();
 * const kc: KubeConfig = server.kubeConfig();
 * assert.equal(kc.getCurrentCluster()?.server === server.url, true);
 * const core = kc.makeApiClient(CoreV1Api);
 * const namespaces = await core.listNamespace();
 * ```
 */
export type KubeConfig = ClientKubeConfig;

/**
 * Options of {@link TestApiServer.start}.
 *
 * @example
 * ```ts
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start({
 *   historyLimit: 100, // resuming a watch from more than 100 changes back gets 410 Gone
 *   bookmarkIntervalMs: 0, // no timed bookmarks: send them with server.bookmark()
 *   now: () => new Date("2025-01-01T00:00:00Z"), // fixed creationTimestamps
 * });
 * // The first two lists of Widgets fail with 500: the watcher must retry.
 * server.faults.failNext({ verb: "list", resource: "widgets", status: 500, count: 2 });
 * ```
 */
export interface TestApiServerOptions {
  /** The bearer token clients must send (default: a random one). */
  token?: string;
  /** The address to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** How many changes watches can resume across (default 10,000); older resumes get 410. */
  historyLimit?: number;
  /**
   * How often watches that allow bookmarks get one, in milliseconds
   * (default 1000; `0` for never, then send them with `bookmark()`).
   */
  bookmarkIntervalMs?: number;
  /** The clock for timestamps (default: the system clock). */
  now?: () => Date;
  /** Randomness in [0, 1) for `generateName` suffixes (default `Math.random`). */
  random?: () => number;
  /**
   * Called as each request arrives, before it is handled (and before any
   * fault applies): a request log for tests that check who wrote what and
   * when. It must not throw.
   */
  onRequest?: (request: ReceivedRequest) => void;
}

/**
 * A request as it arrived at a {@linkcode TestApiServer}, handed to the
 * `onRequest` option.
 *
 * @example Logging the writes and who sent them
 * ```ts
 * import { type ReceivedRequest, TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const writes: ReceivedRequest[] = [];
 * await using server = await TestApiServer.start({
 *   onRequest: (request) => {
 *     if (request.method !== "GET") writes.push(request);
 *   },
 * });
 * ```
 */
export interface ReceivedRequest {
  /** The HTTP method. */
  method: string;
  /** The path and query, e.g. `/api/v1/namespaces/default/configmaps?watch=true`. */
  path: string;
  /** The client's address (its end of the TCP connection). */
  remoteAddress: string;
  /**
   * The request's headers (on loopback, where every client has the same
   * address, a header is how a test tells its clients apart).
   */
  headers: Headers;
}

/**
 * An in-process Kubernetes API server over HTTPS with a fresh self-signed
 * CA and bearer-token authentication. Point `@kubernetes/client-node` at it
 * with {@link TestApiServer.kubeConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CoreV1Api } from "@kubernetes/client-node";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 *
 * const server = await TestApiServer.start();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * await core.createNamespacedConfigMap({
 *   namespace: "default",
 *   body: { metadata: { name: "settings" }, data: { mode: "fast" } },
 * });
 * const read = await core.readNamespacedConfigMap({ name: "settings", namespace: "default" });
 * assert.equal(read.data?.mode, "fast");
 * await server.stop();
 * ```
 */
export class TestApiServer {
  /** The base URL, e.g. `https://127.0.0.1:40123`. */
  readonly url: string;
  /** The bearer token clients must send. */
  readonly token: string;
  /** The PEM certificate of the CA that signed the server's certificate. */
  readonly caPem: string;
  /** Fault injection hooks. */
  readonly faults: Faults;
  #core: ApiCore;
  #http: HttpsServer;
  #stopped = false;

  private constructor(
    fields: {
      url: string;
      token: string;
      caPem: string;
      core: ApiCore;
      http: HttpsServer;
    },
    faults: Faults,
  ) {
    this.url = fields.url;
    this.token = fields.token;
    this.caPem = fields.caPem;
    this.#core = fields.core;
    this.#http = fields.http;
    this.faults = faults;
  }

  /**
   * Makes a certificate, starts listening on a free port, and resolves once
   * the server accepts requests.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TestApiServer } from "./api_server.ts";
   * await using server = await TestApiServer.start({ bookmarkIntervalMs: 0 }); // no periodic bookmarks
   * assert.ok(server.url.startsWith("https://127.0.0.1:"));
   * ```
   */
  static async start(
    options: TestApiServerOptions = {},
  ): Promise<TestApiServer> {
    const hostname = options.hostname ?? "127.0.0.1";
    const token = options.token ?? crypto.randomUUID();
    const historyLimit = options.historyLimit ?? 10_000;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw new RangeError(
        `Expected historyLimit to be a positive integer, found ${historyLimit}`,
      );
    }
    const certs = makeTestCertificates([
      ...new Set([hostname, "127.0.0.1", "localhost", "::1"]),
    ]);
    const core = new ApiCore({
      now: options.now ?? (() => new Date()),
      random: options.random ?? Math.random,
      historyLimit,
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    });
    const faults = new FaultInjector(core.store, core.hub);
    const router = new Router(core, {
      faults,
      token,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    const onRequest = options.onRequest;
    const http = await serveHttps((request, info) => {
      if (onRequest) {
        const url = new URL(request.url);
        onRequest({
          method: request.method,
          path: url.pathname + url.search,
          remoteAddress: info.remoteAddress,
          headers: request.headers,
        });
      }
      return router.handle(request);
    }, {
      hostname,
      cert: certs.certPem,
      key: certs.keyPem,
    });
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    return new TestApiServer(
      {
        url: `https://${host}:${http.port}`,
        token,
        caPem: certs.caPem,
        core,
        http,
      },
      faults,
    );
  }

  /**
   * A `KubeConfig` for this server: the CA is trusted (TLS is verified) and
   * the token is sent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CustomObjectsApi } from "@kubernetes/client-node";
   * import { TestApiServer } from "./api_server.ts";
   * await using server = await TestApiServer.start();
   * const api = server.kubeConfig().makeApiClient(CustomObjectsApi); // trusts its CA, sends its token
   * assert.ok(api);
   * assert.equal(server.kubeConfig().getCurrentCluster()?.server, server.url);
   * ```
   */
  kubeConfig(): KubeConfig {
    const kc = new ClientKubeConfig();
    kc.loadFromString(this.kubeConfigYaml());
    return kc;
  }

  /**
   * The kubeconfig file text for this server, for `kubectl --kubeconfig`
   * or `KUBECONFIG`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TestApiServer } from "./api_server.ts";
   * await using server = await TestApiServer.start();
   * const text = server.kubeConfigYaml(); // write it where kubectl --kubeconfig reads it
   * assert.match(text, new RegExp(server.url.replace(/[.]/g, "\\.")));
   * ```
   */
  kubeConfigYaml(): string {
    return kubeConfigText(this);
  }

  /** The store's current resourceVersion. */
  get resourceVersion(): number {
    return this.#core.store.rv;
  }

  /** How many watches are open. */
  get openWatches(): number {
    return this.#core.hub.size;
  }

  /**
   * Sends a BOOKMARK now to every open watch that allows bookmarks.
   *
   * @example
   * ```ts
   * import { TestApiServer } from "./api_server.ts";
   * await using server = await TestApiServer.start({ bookmarkIntervalMs: 0 });
   * server.bookmark(); // open watches that asked for bookmarks get one now
   * ```
   */
  bookmark(): void {
    this.#core.hub.bookmark();
  }

  /**
   * Closes open watches and stops listening.
   *
   * @example
   * ```ts
   * import { TestApiServer } from "./api_server.ts";
   * const server = await TestApiServer.start();
   * await server.stop(); // or: await using server = await TestApiServer.start()
   * ```
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.faults.clear();
    this.#core.hub.close({});
    await this.#http.close();
  }

  /** Same as {@link TestApiServer.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
