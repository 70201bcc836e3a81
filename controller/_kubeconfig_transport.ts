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
 * @module
 */
import { Buffer } from "node:buffer";
import {
  HttpMethod,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import {
  type Dispatcher,
  fetch as undiciFetch,
  getGlobalDispatcher,
} from "undici";
import type { Clock } from "./clock.ts";

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
  #built = false;

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
    let fenced: { error: unknown } | undefined;
    // And once more when undici starts writing it to a connection, which
    // may be a TLS handshake later: the lease may end in between.
    const dispatcher = init.checkFence
      ? checkedAtWrite(
        this.#dispatcher ?? getGlobalDispatcher(),
        init.checkFence,
        (error) => fenced = { error },
      )
      : this.#dispatcher;
    let response;
    try {
      response = await undiciFetch(url, {
        method,
        headers: { ...this.#headers, ...init.headers },
        body: init.body,
        signal: init.signal,
        dispatcher,
      });
    } catch (error) {
      if (fenced) throw fenced.error;
      // No answer at all: perhaps a handshake refused by a rotated CA or
      // client certificate. Read the material again before the next one.
      if (!init.signal?.aborted) this.#stale = true;
      throw error;
    }
    if (response.status === 401) this.#stale = true;
    return response as unknown as Response;
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
    // Headers and dispatcher exactly as client-node makes them (proxies,
    // SOCKS, and a subclass that overrides applySecurityAuthentication).
    const cluster = this.#kubeConfig.getCurrentCluster();
    const context = new RequestContext(
      cluster?.server ?? "https://localhost",
      HttpMethod.GET,
    );
    await this.#kubeConfig.applySecurityAuthentication(context);
    const candidate = context.getDispatcher() as Dispatcher | undefined;
    if (!this.#built || tlsKey !== this.#tlsKey) {
      const previous = this.#dispatcher;
      this.#dispatcher = candidate;
      this.#tlsKey = tlsKey;
      this.#built = true;
      // Requests in flight (a long watch) finish on the old connections.
      previous?.close().catch(() => {});
    } else {
      // Same material: keep the pool and its open connections.
      candidate?.close().catch(() => {});
    }
    this.#headers = context.getHeaders();
    this.#refreshedAt = this.#clock.now();
    this.#stale = false;
  }
}

/**
 * `dispatcher`, but each request runs `check` the moment undici starts
 * writing it to a connection (its handler's `onRequestStart`, which undici
 * calls after `fetch()` has returned, so a check that ends leadership and
 * aborts the request's signal there is handled like any abort); a throw
 * aborts the request before anything is written and goes to `onFenced`.
 */
function checkedAtWrite(
  dispatcher: Dispatcher,
  check: () => void,
  onFenced: (error: unknown) => void,
): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) =>
    dispatch(
      options,
      new Proxy(handler, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (typeof value !== "function") return value;
          if (key !== "onRequestStart") return value.bind(target);
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
