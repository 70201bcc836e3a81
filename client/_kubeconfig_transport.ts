/**
 * Internal: the transport `KubeClient.fromKubeConfig` builds. It takes
 * authentication and TLS material from client-node's `KubeConfig` (token,
 * basic auth, client certificates from files, data or exec plugins, CA,
 * proxies) and sends with undici's `Dispatcher.request()` over one pooled
 * dispatcher (less CPU time per request than undici's `fetch()`).
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
 * connection closed) or the request's signal aborts: undici's `fetch`
 * left the body pending forever then under Deno, and the transport keeps
 * that promise itself whatever undici does.
 *
 * Every request but a watch asks for gzip (`accept-encoding: gzip`, unless
 * `compression` is off): kube-apiserver compresses a list or get answer
 * over 128 KiB then, never a watch. A body read whole is collected, then
 * decompressed in one call with the output capped at `maxResponseBytes`
 * (plain bodies are capped too); a streamed one through
 * `DecompressionStream`, counted. A gzip body that is truncated or corrupt,
 * decompresses past the cap, or any content-encoding not asked for (on a
 * watch, or another than gzip) fails with {@linkcode ApiError}
 * `MalformedResponse`, as a body that is not JSON does. undici's own
 * `interceptors.decompress({ maxSize })` (undici 8.13.1 has it) would
 * decompress a watch's body too, stream every chunk through a zlib
 * `Transform`, and fail with undici's errors.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gunzip } from "node:zlib";
import {
  type Cluster,
  HttpMethod,
  type KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";
import { Agent, type Dispatcher, ProxyAgent } from "undici";
import type { Clock } from "../common/clock.ts";
import { Tripwire } from "../common/tripwire.ts";
import { ApiError } from "./errors.ts";

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
  readonly #compression: boolean;
  readonly #maxResponseBytes: number;
  #headers: Record<string, string> = {};
  #dispatcher: Dispatcher | undefined;
  #tlsKey: string | undefined;
  #refreshedAt = -Infinity;
  #stale = true;
  #refreshing: Promise<void> | undefined;

  constructor(
    kubeConfig: KubeConfig,
    options: {
      clock: Clock;
      refreshMs: number;
      compression: boolean;
      maxResponseBytes: number;
    },
  ) {
    this.#kubeConfig = kubeConfig;
    this.#clock = options.clock;
    this.#refreshMs = options.refreshMs;
    this.#compression = options.compression;
    this.#maxResponseBytes = options.maxResponseBytes;
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
    // its fetch() asserted (an uncaught exception: the process died) when
    // the signal aborted before fetch() had returned, which happens when
    // something run inside it ends leadership, such as a dispatcher
    // interceptor of a KubeConfig subclass asking the guard; no abort
    // reaches undici while one of its calls is on the stack.
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
    const target = new URL(url);
    // kube-apiserver never compresses a watch; one that arrives compressed
    // is refused below.
    const gzip = this.#compression && !isWatch(target);
    let answer: Dispatcher.ResponseData;
    try {
      answer = await dispatcher.request({
        origin: target.origin,
        path: target.pathname + target.search,
        method: method as Dispatcher.HttpMethod,
        headers: {
          ...this.#headers,
          ...(gzip ? { "accept-encoding": "gzip" } : {}),
          ...init.headers,
        },
        body: init.body,
        signal: follower.signal,
      });
    } catch (error) {
      settled();
      if (fenced) throw fenced.error;
      if (init.signal?.aborted) throw init.signal.reason;
      // No answer at all: perhaps a handshake refused by a rotated CA or
      // client certificate. Read the material again before the next one.
      this.#stale = true;
      // As fetch() reports it, which callers and users know.
      throw new TypeError("fetch failed", { cause: error });
    }
    if (answer.statusCode === 401) this.#stale = true;
    const coding = contentCoding(answer, { asked: gzip });
    if (coding instanceof ApiError) {
      settled();
      answer.body.on("error", () => {});
      answer.body.destroy(coding);
      throw coding;
    }
    return undiciResponse(answer, {
      failure,
      settled,
      gzip: coding === "gzip",
      maxBytes: this.#maxResponseBytes,
    });
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
 * writing it to a connection (its handler's `onRequestStart`; a check that
 * ends leadership and aborts the request's signal there is handled like any
 * abort; a throw aborts the request before anything is written and goes to
 * `onFenced`),
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

/** Whether `url` asks for a watch, as kube-apiserver reads `watch`. */
function isWatch(url: URL): boolean {
  const watch = url.searchParams.get("watch");
  return watch === "true" || watch === "1";
}

/**
 * How `answer`'s body is encoded: `"gzip"`, `"identity"`, or the
 * {@linkcode ApiError} that refuses it (a coding not asked for; a null body
 * status has no body to decode).
 */
function contentCoding(
  answer: Dispatcher.ResponseData,
  options: { asked: boolean },
): "gzip" | "identity" | ApiError {
  const raw = answer.headers["content-encoding"];
  const coding = (Array.isArray(raw) ? raw.join(",") : raw ?? "")
    .trim().toLowerCase();
  if (
    coding === "" || coding === "identity" ||
    NULL_BODY_STATUSES.has(answer.statusCode)
  ) return "identity";
  if (options.asked && (coding === "gzip" || coding === "x-gzip")) {
    return "gzip";
  }
  return malformed(answer.statusCode, {
    expected: options.asked
      ? "a body with content-encoding gzip or none"
      : "a body with no content-encoding (none was asked for)",
    found: `content-encoding ${JSON.stringify(coding)}`,
  });
}

/** The error of a response whose body is broken. */
function malformed(
  status: number,
  what: { expected: string; found: string },
): ApiError {
  return new ApiError(status, {
    reason: "MalformedResponse",
    message: `expected ${what.expected}, found ${what.found}`,
  });
}

/** How a response's body fails, and what to call once it is done. */
interface BodyEnd {
  /**
   * Raced by every read: a long-lived promise raced per chunk would keep
   * each chunk alive until it settles (see `Tripwire`).
   */
  failure: Tripwire;
  settled: () => void;
  /** Whether the body is gzip, to decompress. */
  gzip: boolean;
  /** The most bytes a body may have (decompressed). */
  maxBytes: number;
}

/**
 * undici's answer to `Dispatcher.request()` as a `Response` whose body
 * fails as soon as `end.failure` does (the connection failing under it, or
 * the caller's signal) and calls `end.settled` once it is done one way or
 * another. `request()` builds no WHATWG request, headers, response and
 * stream objects per request, as undici's `fetch()` does (in a loop of
 * GETs against the test API server, client and server CPU time per request
 * fell from 330–475 µs to 240 µs); unlike `fetch()` it follows no
 * redirects (the API server sends none); compression is the transport's
 * (`end.gzip`, `end.maxBytes`).
 *
 * Read whole (`text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`:
 * every request but a watch), the read of the body (undici's for a plain
 * body of a declared length within the cap, else {@linkcode readWhole})
 * races the failure; only `body` (a watch's stream) and `clone()` build a
 * web stream, which races it chunk by chunk (through
 * {@linkcode gunzipStream} when gzip). A failure that wins leaves the read to
 * end on its own: the connection is gone, or the aborted signal aborts
 * the request.
 */
function undiciResponse(
  answer: Dispatcher.ResponseData,
  end: BodyEnd,
): Response {
  const response = new Response(null, {
    status: answer.statusCode,
    statusText: answer.statusText ?? "",
    headers: headersOf(answer.headers),
  });
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  // Its errors reach whoever reads it; one nobody reads, or a stream
  // destroyed on cancel, must not end the process (an `error` event
  // without a listener is thrown).
  answer.body.on("error", () => {});
  let streamed: Response | undefined;
  /** The response with a web stream body, built on first use. */
  const stream = (): Response => {
    if (streamed) return streamed;
    if (NULL_BODY_STATUSES.has(response.status)) {
      // As fetch(): no body at all.
      end.settled();
      streamed = new Response(null, init);
    } else {
      const raw = streamingWith(answer, end, init);
      streamed = end.gzip
        ? new Response(
          gunzipStream(raw.body!, {
            status: response.status,
            maxBytes: end.maxBytes,
          }),
          init,
        )
        : raw;
    }
    return streamed;
  };
  const declared = Number(answer.headers["content-length"]);
  const whole = async <R>(
    read: {
      /** undici's own read, for a plain body of a declared length. */
      plain?: (body: Dispatcher.ResponseData["body"]) => Promise<R>;
      /** What the body's bytes become. */
      bytes: (bytes: Uint8Array) => R;
    },
    readStreamed: (response: Response) => Promise<R>,
  ): Promise<R> => {
    if (streamed) return await readStreamed(streamed);
    if (answer.body.bodyUsed) {
      throw new TypeError("Body is unusable: Body has already been read");
    }
    // A body refused for its size is destroyed, which fails the request
    // (undici's abort trips `end.failure` first): the refusal is the error.
    let refused: ApiError | undefined;
    // A plain body whose declared length is within the cap (most answers):
    // undici reads it, the cheapest way.
    const reading = read.plain && !end.gzip && declared <= end.maxBytes
      ? read.plain(answer.body)
      : readWhole(answer, { ...end, refuse: (error) => refused = error })
        .then(read.bytes);
    try {
      return await end.failure.race(reading);
    } catch (error) {
      reading.catch(() => {});
      throw refused ?? error;
    } finally {
      end.settled();
    }
  };
  const type = response.headers.get("content-type") ?? "";
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  // Own properties in front of the prototype's (a subclass would do, but
  // Node's and Deno's type declarations of Response differ).
  Object.defineProperties(response, {
    body: { get: () => stream().body },
    bodyUsed: { get: () => (streamed ?? answer.body).bodyUsed },
    text: {
      value: () =>
        whole({ plain: (b) => b.text(), bytes: text }, (r) => r.text()),
    },
    json: {
      value: () =>
        whole({
          plain: (b) => b.json(),
          bytes: (bytes) => JSON.parse(text(bytes)),
        }, (r) => r.json()),
    },
    arrayBuffer: {
      value: () =>
        whole({
          plain: (b) => b.arrayBuffer(),
          bytes: (bytes) => new Uint8Array(bytes).buffer,
        }, (r) => r.arrayBuffer()),
    },
    bytes: {
      value: () =>
        whole(
          { bytes: (bytes) => new Uint8Array(bytes) },
          (r) => r.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
        ),
    },
    blob: {
      value: () =>
        whole(
          { bytes: (bytes) => new Blob([new Uint8Array(bytes)], { type }) },
          (r) => r.blob(),
        ),
    },
    formData: { value: () => stream().formData() },
    clone: { value: () => stream().clone() },
  });
  return response;
}

/**
 * `answer`'s whole body, decompressed when it is gzip: at most
 * `end.maxBytes` bytes on the wire and after decompression, else
 * {@linkcode ApiError} `MalformedResponse` (so does gzip that is truncated
 * or corrupt). The compressed bytes are collected and decompressed in one
 * call, whose output zlib itself stops at the cap.
 */
async function readWhole(
  answer: Dispatcher.ResponseData,
  end: BodyEnd & { refuse: (error: ApiError) => void },
): Promise<Uint8Array> {
  const { maxBytes } = end;
  const status = answer.statusCode;
  const tooLarge = (found: string) =>
    malformed(status, {
      expected: `a body of at most ${maxBytes} bytes (maxResponseBytes)`,
      found,
    });
  const declared = Number(answer.headers["content-length"]);
  if (declared > maxBytes) {
    const error = tooLarge(`content-length ${declared}`);
    end.refuse(error);
    answer.body.destroy(error);
    throw error;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of answer.body) {
    size += (chunk as Uint8Array).length;
    if (size > maxBytes) {
      const error = tooLarge(`more${end.gzip ? " (compressed)" : ""}`);
      end.refuse(error);
      answer.body.destroy(error);
      throw error;
    }
    chunks.push(chunk as Uint8Array);
  }
  const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
  if (!end.gzip) return body;
  return await new Promise<Uint8Array>((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (error, result) => {
      if (!error) resolve(result);
      else if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        reject(tooLarge(`more once decompressed (gzip, ${size} bytes sent)`));
      } else {
        reject(
          malformed(status, {
            expected: "a complete gzip body",
            found: `${size} bytes that fail to decompress: ${error.message}`,
          }),
        );
      }
    });
  });
}

/**
 * `raw` (a gzip body) decompressed, failing with {@linkcode ApiError}
 * `MalformedResponse` once it passes `maxBytes` or turns out truncated or
 * corrupt; an error of `raw` itself (the connection, the signal) passes
 * through as it is.
 */
function gunzipStream(
  raw: ReadableStream<Uint8Array>,
  options: { status: number; maxBytes: number },
): ReadableStream<Uint8Array> {
  const { status, maxBytes } = options;
  const upstream = raw.getReader();
  let failed: { error: unknown } | undefined;
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await upstream.read();
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      } catch (error) {
        failed = { error };
        throw error;
      }
    },
    cancel: (reason) => upstream.cancel(reason),
  });
  const reader = source.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >,
  ).getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.read().catch((error: unknown) => {
        if (failed) throw failed.error;
        throw malformed(status, {
          expected: "a complete gzip body",
          found: `one that fails to decompress: ${
            error instanceof Error ? error.message : String(error)
          }`,
        });
      });
      if (chunk.done) return controller.close();
      size += chunk.value.length;
      if (size > maxBytes) {
        const error = malformed(status, {
          expected: `a body of at most ${maxBytes} bytes (maxResponseBytes)`,
          found: "more once decompressed (gzip)",
        });
        reader.cancel(error).catch(() => {});
        throw error;
      }
      controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** The statuses whose response has no body (the Fetch standard's). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** undici's parsed response headers as `Headers`. */
function headersOf(
  raw: Record<string, string | string[] | undefined>,
): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value === "string") headers.append(name, value);
    else for (const one of value) headers.append(name, one);
  }
  return headers;
}

/** `answer` as a `Response` whose body stream races `end.failure` at each chunk. */
function streamingWith(
  answer: Dispatcher.ResponseData,
  end: BodyEnd,
  init: ResponseInit,
): Response {
  const { failure, settled } = end;
  const chunks = answer.body[Symbol.asyncIterator]() as AsyncIterator<
    Uint8Array
  >;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: IteratorResult<Uint8Array>;
      try {
        chunk = await failure.race(chunks.next());
      } catch (error) {
        settled();
        answer.body.destroy(error as Error);
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
      answer.body.destroy(reason instanceof Error ? reason : undefined);
    },
  });
  return new Response(stream, init);
}
