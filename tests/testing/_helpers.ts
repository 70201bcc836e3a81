/**
 * Shared helpers for the TestApiServer tests: a started server with client
 * APIs, a watch recorder that awaits events with a deadline, and a CRD.
 *
 * @module
 */
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
  Watch,
} from "@kubernetes/client-node";
import { Buffer } from "node:buffer";
import { request } from "node:https";
import { TestApiServer, type TestApiServerOptions } from "../../testing/mod.ts";

/** A started server and the client APIs tests use. */
export interface Harness {
  server: TestApiServer;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
  custom: CustomObjectsApi;
  ext: ApiextensionsV1Api;
}

/** Starts a server (bookmarks only on demand unless asked) and makes clients. */
export async function startHarness(
  options: TestApiServerOptions = {},
): Promise<Harness> {
  const server = await TestApiServer.start({
    bookmarkIntervalMs: 0,
    ...options,
  });
  const kc = server.kubeConfig();
  return {
    server,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    ext: kc.makeApiClient(ApiextensionsV1Api),
  };
}

/** The HTTP code and parsed Status of a failed client-node call. */
export async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === "string"
        ? JSON.parse(error.body)
        : error.body;
      return { code: error.code, status: body as Record<string, unknown> };
    }
    throw error;
  }
  throw new Error("Expected the call to fail, but it succeeded");
}

/** One event seen by a watch. */
export interface SeenEvent {
  type: string;
  // deno-lint-ignore no-explicit-any
  object: any;
}

/** A watch that records events and lets a test await them with a deadline. */
export class WatchRecorder {
  readonly events: SeenEvent[] = [];
  done = false;
  doneError: unknown = undefined;
  #waiters: (() => void)[] = [];
  #abort: AbortController | undefined;

  /** Starts watching `path` with `query`. */
  async start(
    kc: KubeConfig,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<this> {
    const watch = new Watch(kc);
    this.#abort = await watch.watch(
      path,
      query,
      (type, object) => {
        this.events.push({ type, object });
        this.#wake();
      },
      (error) => {
        this.done = true;
        this.doneError = error;
        this.#wake();
      },
    );
    return this;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `predicate` holds, or rejects after `ms`. */
  async until(
    predicate: () => boolean,
    what: string,
    ms = 5000,
  ): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${what}; saw ${
            JSON.stringify(
              this.events.map((e) => [e.type, e.object?.metadata?.name]),
            )
          } done=${this.done}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `n` events in total. */
  count(n: number): Promise<void> {
    return this.until(() => this.events.length >= n, `${n} events`);
  }

  /** Waits for the watch to end. */
  ended(): Promise<void> {
    return this.until(() => this.done, "the watch to end");
  }

  /** Stops the watch. */
  stop(): void {
    this.#abort?.abort();
  }
}

/**
 * A namespaced CRD `widgets.example.com` with a status subresource and a
 * schema, written with client-node's model property names (`_enum`,
 * `_default`, `x_kubernetes_preserve_unknown_fields`), which its serializer
 * turns into the wire names.
 */
export function widgetCrd(
  overrides: { scope?: string; status?: boolean } = {},
): V1CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.example.com" },
    spec: {
      group: "example.com",
      scope: overrides.scope ?? "Namespaced",
      names: {
        plural: "widgets",
        singular: "widget",
        kind: "Widget",
        shortNames: ["wd"],
      },
      versions: [{
        name: "v1",
        served: true,
        storage: true,
        subresources: overrides.status === false ? {} : { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size"],
                properties: {
                  size: { type: "integer", minimum: 1, maximum: 10 },
                  mode: {
                    type: "string",
                    _enum: ["fast", "safe"],
                    _default: "safe",
                  },
                  name: { type: "string", pattern: "^[a-z]+$", maxLength: 8 },
                  tags: {
                    type: "array",
                    items: { type: "string" },
                    maxItems: 3,
                  },
                  extra: {
                    type: "object",
                    x_kubernetes_preserve_unknown_fields: true,
                  },
                },
              },
              status: {
                type: "object",
                properties: {
                  ready: { type: "boolean" },
                  observedGeneration: { type: "integer" },
                },
              },
            },
          },
        },
      }],
    },
  };
}

/**
 * One raw HTTPS request to the server (CA verified), for what client-node
 * does not expose: discovery documents, bad tokens, odd content types.
 */
export function raw(
  server: TestApiServer,
  path: string,
  options: {
    method?: string;
    token?: string | null;
    body?: string;
    contentType?: string;
  } = {},
): Promise<{ code: number; body: unknown; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? server.token : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.contentType) headers["content-type"] = options.contentType;
    // Node sends a DELETE's body neither chunked nor with a length unless
    // told its length.
    if (options.body !== undefined) {
      headers["content-length"] = String(Buffer.byteLength(options.body));
    }
    const req = request(url, {
      method: options.method ?? "GET",
      ca: server.caPem,
      headers,
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON: keep the text.
        }
        resolve({ code: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A parsed answer, read freely by the tests that compare them. */
// deno-lint-ignore no-explicit-any
export type JsonBody = any;

/** What {@link jsonSender}'s function sends besides the path. */
export interface JsonRequest {
  /** The HTTP method (default GET). */
  method?: string;
  /** The body: JSON-encoded unless it is a string already. */
  body?: unknown;
  /** The Content-Type (default `application/json`). */
  contentType?: string;
}

/**
 * A function that sends one request to the server with {@link raw} and
 * answers its code and parsed body: for tests that compare whole answers
 * with what a real kube-apiserver gives.
 */
export function jsonSender(
  server: () => TestApiServer,
): (
  path: string,
  request?: JsonRequest,
) => Promise<{ code: number; body: JsonBody }> {
  return async (path, request = {}) =>
    await raw(server(), path, {
      method: request.method ?? "GET",
      contentType: request.contentType ?? "application/json",
      body: request.body === undefined
        ? undefined
        : typeof request.body === "string"
        ? request.body
        : JSON.stringify(request.body),
    });
}

/**
 * A raw streaming GET (a watch) that reports how the stream ended:
 * `"end"` for a clean end, `"aborted"` when the connection broke.
 */
export function rawStream(
  server: TestApiServer,
  path: string,
): Promise<{ lines: string[]; ended: Promise<"end" | "aborted"> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, server.url);
    const req = request(url, {
      ca: server.caPem,
      headers: { authorization: `Bearer ${server.token}` },
    }, (res) => {
      const lines: string[] = [];
      const ended = new Promise<"end" | "aborted">((done) => {
        res.on("aborted", () => done("aborted"));
        res.on("error", () => done("aborted"));
        res.on("end", () => done("end"));
      });
      res.setEncoding("utf8");
      res.on(
        "data",
        (chunk: string) => lines.push(...chunk.split("\n").filter((l) => l)),
      );
      resolve({ lines, ended });
    });
    req.on("error", reject);
    req.end();
  });
}
