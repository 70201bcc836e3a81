/**
 * Internal: the transport `KubeClient.fromKubeConfig` builds. It takes
 * authentication and TLS material from client-node's `KubeConfig` (token,
 * basic auth, client certificates from files, data or exec plugins, CA,
 * proxies) and sends with undici's `fetch` over one pooled dispatcher.
 *
 * The material is read again every `refreshMs`, at once after a 401 or a
 * request that failed before any answer (a TLS handshake refused by a
 * rotated CA or certificate), and the dispatcher is rebuilt whenever the
 * CA, certificate or key bytes changed; one refresh runs at a time and
 * every request waiting for it shares it.
 *
 * It speaks HTTP/1.1 only. undici offers HTTP/2 by default, and Deno's
 * HTTP/2 client crashes the process (SIGSEGV, an nghttp2 assertion) when
 * the API server closes a session, as it does on every restart, rollout or
 * `--goaway-chance` draw. So client-node's dispatcher factory is replaced,
 * while `applySecurityAuthentication` runs, by one that builds the same
 * dispatcher (same TLS material, proxy and keep-alive) with HTTP/2 off: a
 * subclass that wraps the dispatcher it finds wraps this one.
 *
 * A response body fails as soon as undici reports its request failed (the
 * connection closed) or the request's signal aborts: undici's own `fetch`
 * left the body pending forever then under Deno.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Cluster,
  HttpMethod,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import {
  Agent,
  type Dispatcher,
  fetch as undiciFetch,
  ProxyAgent,
} from "undici";
import type { Clock } from "../common/clock.ts";
import { Tripwire } from "../common/_tripwire.ts";

/** What one request needs besides its URL. */
export interface SendInit {
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  checkFence?: () => void;
}

interface HttpsOptions {
  ca?: unknown;
  cert?: unknown;
  key?: unknown;
  pfx?: unknown;
  passphrase?: unknown;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Sends requests as a KubeConfig's current context says. */
export class KubeConfigTransport {
  readonly #kubeConfig: KubeConfig;
  readonly #clock: Clock;
  readonly #refreshMs: number;
  #headers: Record<string, string> = {};
  #dispatcher: Dispatcher | undefined;
  #tlsKey: string | undefined;
  #refreshedAt = -Infinity;
  #stale = true;
  #refreshing: Promise<void> | undefined;

  constructor(
    kubeConfig: KubeConfig,
    options: { clock: Clock; refreshMs: number },
  ) {
    this.#kubeConfig = kubeConfig;
    this.#clock = options.clock;
    this.#refreshMs = options.refreshMs;
  }

  /** Sends one request (see {@linkcode Transport}). */
  async send(method: string, url: string, init: SendInit): Promise<Response> {
    if (
      this.#stale || this.#clock.now() - this.#refreshedAt >= this.#refreshMs
    ) {
      await this.#refresh();
    }
    // The last step before the network: no await between the fence check
    // and undici taking the request.
    init.checkFence?.();
    // Built by the first refresh, which the first request always runs.
    const base = this.#dispatcher as Dispatcher;
    let fenced: { error: unknown } | undefined;
    // How the body fails: the connection failing under it, or the signal.
    const failure = new Tripwire();
    // undici gets a signal that follows the caller's a microtask later:
    // its fetch() asserts (an uncaught exception: the process dies) when
    // the signal aborts before fetch() has returned, which happens when
    // something run inside it ends leadership, such as a dispatcher
    // interceptor of a KubeConfig subclass asking the guard.
    const follower = new AbortController();
    if (init.signal?.aborted) follower.abort(init.signal.reason);
    const onAbort = () => {
      const reason = init.signal?.reason;
      failure.trip(reason);
      queueMicrotask(() => follower.abort(reason));
    };
    init.signal?.addEventListener("abort", onAbort, { once: true });
    const settled = () => init.signal?.removeEventListener("abort", onAbort);
    // The fence is checked once more when undici starts writing the
    // request to a connection, which may be a TLS handshake later: the
    // lease may end in between.
    const dispatcher = observed(base, {
      check: init.checkFence,
      onFenced: (error) => fenced = { error },
      onResponseError: (error) => failure.trip(error),
    });
    let response: Response;
    try {
      response = await undiciFetch(url, {
        method,
        headers: { ...this.#headers, ...init.headers },
        body: init.body,
        signal: follower.signal,
        dispatcher,
      }) as unknown as Response;
    } catch (error) {
      settled();
      if (fenced) throw fenced.error;
      // No answer at all: perhaps a handshake refused by a rotated CA or
      // client certificate. Read the material again before the next one.
      if (!init.signal?.aborted) this.#stale = true;
      throw error;
    }
    if (response.status === 401) this.#stale = true;
    return failingWith(response, { failure, settled });
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= this.#load().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    // The TLS bytes, to tell whether they changed (client-node reads files
    // and runs exec plugins here: nothing is cached across calls but an
    // exec credential until it expires).
    const options: HttpsOptions = {};
    await this.#kubeConfig.applyToHTTPSOptions(options as never);
    const tls: Record<string, unknown> = {};
    for (
      const field of [
        "ca",
        "cert",
        "key",
        "pfx",
        "passphrase",
        "rejectUnauthorized",
        "servername",
      ] as const
    ) {
      if (options[field] !== undefined) tls[field] = options[field];
    }
    const tlsKey = JSON.stringify(
      tls,
      (_key, value) =>
        value instanceof Uint8Array
          ? Buffer.from(value).toString("base64")
          : value?.type === "Buffer" && Array.isArray(value.data)
          ? Buffer.from(value.data).toString("base64")
          : value,
    );
    // Headers and dispatcher as client-node makes them (proxies, SOCKS,
    // and a subclass that overrides applySecurityAuthentication), but over
    // HTTP/1.1 (see the module's comment).
    const cluster = this.#kubeConfig.getCurrentCluster();
    const context = new RequestContext(
      cluster?.server ?? "https://localhost",
      HttpMethod.GET,
    );
    await this.#kubeConfig.applySecurityAuthentication.call(
      http1Only(this.#kubeConfig),
      context,
    );
    // No dispatcher at all (a subclass removed it): undici's global one
    // would offer HTTP/2, so one of ours.
    const candidate = (context.getDispatcher() as Dispatcher | undefined) ??
      new Agent({ allowH2: false });
    if (this.#dispatcher === undefined || tlsKey !== this.#tlsKey) {
      const previous = this.#dispatcher;
      this.#dispatcher = candidate;
      this.#tlsKey = tlsKey;
      // Requests in flight (a long watch) finish on the old connections.
      previous?.close().catch(() => {});
    } else {
      // Same material: keep the pool and its open connections.
      candidate.close().catch(() => {});
    }
    this.#headers = context.getHeaders();
    this.#refreshedAt = this.#clock.now();
    this.#stale = false;
  }
}

type DispatcherFactory = (
  cluster: Cluster | null,
  agentOptions: Parameters<KubeConfig["createDispatcherOptions"]>[1],
) => Dispatcher | undefined;

/**
 * `kubeConfig` as its `applySecurityAuthentication` sees it: client-node
 * builds the dispatcher by calling `this.createDispatcher(cluster,
 * options)`, which here builds, from client-node's public
 * `createDispatcherOptions`, the dispatcher client-node would (the same TLS
 * options, proxy and keep-alive) with HTTP/2 off. Everything else is the
 * KubeConfig's own.
 */
function http1Only(kubeConfig: KubeConfig): KubeConfig {
  const original = Reflect.get(kubeConfig, "createDispatcher") as
    | DispatcherFactory
    | undefined;
  const createDispatcher: DispatcherFactory = (cluster, agentOptions) => {
    const options = kubeConfig.createDispatcherOptions(cluster, agentOptions);
    switch (options.type) {
      case "agent":
        return new Agent({ connect: options.connect, allowH2: false });
      case "proxy":
        return new ProxyAgent({
          uri: options.uri,
          requestTls: options.requestTls,
          connect: options.connect,
          allowH2: false,
        });
      case "none":
        return new Agent({ allowH2: false });
      case "socks":
        // client-node's SOCKS connector opens TLS without ALPN, so the
        // server cannot choose HTTP/2; it is not exported to rebuild.
        return original?.call(kubeConfig, cluster, agentOptions);
    }
  };
  return new Proxy(kubeConfig, {
    get: (target, key, receiver) =>
      key === "createDispatcher"
        ? createDispatcher
        : Reflect.get(target, key, receiver),
  });
}

/** What {@linkcode observed} does at each step of a request. */
interface Observers {
  /** Run when undici starts writing the request; a throw aborts it. */
  check?: () => void;
  /** Told the error `check` threw. */
  onFenced: (error: unknown) => void;
  /** Told the error that ended the request (the answer may have begun). */
  onResponseError: (error: unknown) => void;
}

/**
 * `dispatcher`, but each request runs `check` the moment undici starts
 * writing it to a connection (its handler's `onRequestStart`, which undici
 * calls after `fetch()` has returned, so a check that ends leadership and
 * aborts the request's signal there is handled like any abort; a throw
 * aborts the request before anything is written and goes to `onFenced`),
 * and reports the error that ends it to `onResponseError`.
 */
function observed(dispatcher: Dispatcher, observers: Observers): Dispatcher {
  const { check, onFenced, onResponseError } = observers;
  return dispatcher.compose((dispatch) => (options, handler) =>
    dispatch(
      options,
      new Proxy(handler, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (typeof value !== "function") return value;
          if (key === "onResponseError") {
            return (...args: unknown[]) => {
              onResponseError(args[1]);
              return value.apply(target, args);
            };
          }
          if (key !== "onRequestStart" || !check) return value.bind(target);
          return (
            controller: { abort(reason: unknown): void },
            ...rest: unknown[]
          ) => {
            try {
              check();
            } catch (error) {
              onFenced(error);
              controller.abort(error);
              return;
            }
            return value.call(target, controller, ...rest);
          };
        },
      }),
    )
  ) as Dispatcher;
}

/**
 * `response` with a body that fails as soon as `failure` trips, and calls
 * `settled` once the body is done one way or another. undici's fetch errors
 * its body only when Node's `stream.isReadable` knows web streams, which
 * Deno's does not: there a connection closed, or a signal aborted, in the
 * middle of a body left every read (a watch, `text()`) waiting forever.
 */
function failingWith(
  response: Response,
  body: { failure: Tripwire; settled: () => void },
): Response {
  const { failure, settled } = body;
  if (response.body === null) {
    settled();
    return response;
  }
  const reader = response.body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await failure.race(reader.read());
      } catch (error) {
        settled();
        reader.cancel(error).catch(() => {});
        throw error;
      }
      if (chunk.done) {
        settled();
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      settled();
      return reader.cancel(reason);
    },
  });
  return new Response(stream, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
