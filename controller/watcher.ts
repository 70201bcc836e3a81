/**
 * The watcher: list, then watch from the list's resourceVersion; resume
 * from the last seen resourceVersion when a watch ends or breaks; relist on
 * 410 Gone; follow bookmarks; back off with jitter on errors, before every
 * relist and after a watch that closes at once; restart a watch that stays
 * silent too long. It never stops until its signal aborts.
 *
 * @module
 */
import { JitterBackoff } from "../common/backoff.ts";
import { ApiError, readApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import {
  apiVersionOf,
  type KubeList,
  type KubeObject,
  resourcePath,
  type ResourceType,
} from "../client/objects.ts";
import { type Clock, sleep, systemClock } from "../common/clock.ts";
import { type Logger, silentLogger } from "../common/log.ts";
import { Tripwire } from "../common/tripwire.ts";

/**
 * What a watcher yields. A (re)list is `init`, one `initApply` per object,
 * then `initDone`; after that, `apply` (added or modified) and `delete`.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "./mod.ts";
 * import type { WatcherEvent } from "./watcher.ts";
 * function describe(event: WatcherEvent<KubeObject>): string {
 *   switch (event.type) {
 *     case "init":
 *       return "relist started";
 *     case "initDone":
 *       return "relist complete";
 *     case "initApply":
 *     case "apply":
 *       return `upsert ${event.object.metadata.name}`;
 *     case "delete":
 *       return `delete ${event.object.metadata.name}`;
 *   }
 * }
 * ```
 */
export type WatcherEvent<T> =
  | { type: "init" }
  | { type: "initApply"; object: T }
  | { type: "initDone" }
  | { type: "apply"; object: T }
  | { type: "delete"; object: T };

/**
 * Why a watch was started again: the server ended it (`closed`, normal:
 * watches time out), it expired (`expired`, 410 Gone: a relist follows), it
 * was silent past the idle timeout (`idle`), or it failed (`error`).
 *
 * @example
 * ```ts
 * import type { WatcherObserver, WatchRestartReason } from "./watcher.ts";
 * const restarts: Record<WatchRestartReason, number> = { closed: 0, expired: 0, idle: 0, error: 0 };
 * const observer: WatcherObserver = {
 *   restarted: ({ resource, reason, delayMs }) => {
 *     restarts[reason]++;
 *     if (reason === "error" || reason === "idle") {
 *       console.warn(`${resource} watch restarting in ${delayMs} ms (${reason})`);
 *     }
 *   },
 * };
 * ```
 */
export type WatchRestartReason = "closed" | "expired" | "idle" | "error";

/**
 * Hooks a {@linkcode watcher} calls, for metrics. Every method is
 * optional; times come from the watcher's clock, in milliseconds. A hook
 * must not throw.
 *
 * @example
 * ```ts
 * import type { WatcherObserver } from "./watcher.ts";
 * const restarts = new Map<string, number>();
 * const observer: WatcherObserver = {
 *   restarted: (e) => restarts.set(e.reason, (restarts.get(e.reason) ?? 0) + 1),
 * };
 * ```
 */
export interface WatcherObserver {
  /** A full list completed (the first one, or a relist after 410 Gone). */
  listed?(
    event: {
      resource: string;
      objects: number;
      durationMs: number;
      relist: boolean;
    },
  ): void;
  /** A watch ended and is being started again (after `delayMs`). */
  restarted?(event: {
    resource: string;
    reason: WatchRestartReason;
    delayMs: number;
    error?: unknown;
  }): void;
}

/**
 * Options of {@linkcode watcher}.
 *
 * @example Watching the web pods of one namespace
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { watcher, type WatcherOptions } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const stop = new AbortController();
 * const options: WatcherOptions = {
 *   client,
 *   resource: configMaps,
 *   namespace: "default",
 *   labelSelector: "app=web",
 *   idleTimeoutMs: 120_000,
 *   signal: stop.signal,
 * };
 * const seen: string[] = [];
 * for await (const event of watcher(options)) {
 *   seen.push(event.type);
 *   if (event.type === "initDone") {
 *     await client.create(configMaps, { metadata: { name: "web", namespace: "default", labels: { app: "web" } } });
 *   }
 *   if (event.type === "apply") stop.abort(); // ends the iteration
 * }
 * assert.deepEqual(seen, ["init", "initDone", "apply"]);
 * ```
 */
export interface WatcherOptions {
  /** The client to list and watch with. */
  client: KubeClient;
  /** What to watch. */
  resource: ResourceType;
  /** Watch one namespace only (default: all). */
  namespace?: string;
  /** Only objects matching this label selector. */
  labelSelector?: string;
  /** Only objects matching this field selector. */
  fieldSelector?: string;
  /** List page size (default 500). */
  pageSize?: number;
  /**
   * The shortest server-side watch timeout in seconds: each watch asks for
   * a random one between this and twice this (default 300, so 5 to 10
   * minutes, as client-go), so replicas do not reconnect in lockstep.
   */
  timeoutSeconds?: number;
  /**
   * Restart a watch that sends nothing for this long (default 150,000 ms:
   * two and a half times the minute between the bookmarks a real API server
   * sends to watches that allow them, so a half-open connection is noticed
   * within minutes).
   */
  idleTimeoutMs?: number;
  /**
   * First retry delay after an error, before a relist and after a watch
   * that closed at once (default 800 ms).
   */
  backoffBaseMs?: number;
  /** Largest retry delay (default 30,000 ms). */
  backoffMaxMs?: number;
  /**
   * The delays start over from `backoffBaseMs` once none was needed for
   * this long (default 120,000 ms, as client-go).
   */
  backoffResetMs?: number;
  /** Time source (default the system clock). */
  clock?: Clock;
  /** Randomness for jitter (default `Math.random`). */
  random?: () => number;
  /** Where errors are logged. */
  logger?: Logger;
  /** Metrics hooks (default none). */
  observer?: WatcherObserver;
  /** Stops the watcher. */
  signal?: AbortSignal;
}

/**
 * A watch stream broke the protocol (a line that is not a watch event).
 *
 * @example Spotting a broken stream; the watcher itself retries
 * ```ts
 * import { WatchProtocolError, type WatcherObserver } from "./watcher.ts";
 * const observer: WatcherObserver = {
 *   restarted: ({ resource, error }) => {
 *     if (error instanceof WatchProtocolError) {
 *       console.error(`${resource}: malformed watch stream (a proxy?): ${error.message}`);
 *     }
 *   },
 * };
 * ```
 */
export class WatchProtocolError extends Error {
  /** The error class name. */
  override name = "WatchProtocolError";
}

/**
 * A watch sent nothing for longer than the idle timeout.
 *
 * @example Counting watches restarted for silence
 * ```ts
 * import { WatchIdleError, type WatcherObserver } from "./watcher.ts";
 * let silentWatches = 0;
 * const observer: WatcherObserver = {
 *   restarted: ({ error }) => {
 *     if (error instanceof WatchIdleError) silentWatches++; // reason is "idle"
 *   },
 * };
 * ```
 */
export class WatchIdleError extends Error {
  /** The error class name. */
  override name = "WatchIdleError";
}

/**
 * A watch ended cleanly without a single event less than a second after it
 * started (a proxy answering 200 with an empty body, a server closing
 * watches at once): treated as an error, so the watcher backs off instead
 * of reconnecting in a hot loop (client-go's "very short watch").
 *
 * @example
 * ```ts
 * import { ShortWatchError, type WatcherObserver } from "./watcher.ts";
 * const observer: WatcherObserver = {
 *   restarted: ({ resource, error, delayMs }) => {
 *     if (error instanceof ShortWatchError) console.warn(`${resource}: watch closed at once, again in ${delayMs} ms`);
 *   },
 * };
 * ```
 */
export class ShortWatchError extends Error {
  /** The error class name. */
  override name = "ShortWatchError";
}

interface RawEvent {
  type: string;
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/**
 * Lists and watches `resource` forever, as an async iterable of
 * {@linkcode WatcherEvent}s. It ends only when `signal` aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { watcher } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const resource = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await client.create(resource, { metadata: { name: "web", namespace: "default" } });
 * const stop = new AbortController();
 * const names: string[] = [];
 * for await (const event of watcher({ client, resource, signal: stop.signal })) {
 *   if (event.type === "initApply") names.push(event.object.metadata.name!);
 *   if (event.type === "initDone") stop.abort(); // it never ends by itself
 * }
 * assert.deepEqual(names, ["web"]);
 * ```
 */
export async function* watcher<T extends KubeObject>(
  options: WatcherOptions,
): AsyncGenerator<WatcherEvent<T>, void, undefined> {
  const clock = options.clock ?? systemClock;
  const signal = options.signal ?? new AbortController().signal;
  const random = options.random ?? Math.random;
  // One backoff for every kind of trouble, as client-go's reflector: errors,
  // relists after 410 and watches that close at once all wait on it, and it
  // starts over only after two quiet minutes (not after a successful list:
  // a server answering every watch with 410 would otherwise be hammered
  // with list-and-watch pairs).
  const backoff = new JitterBackoff({
    baseMs: options.backoffBaseMs ?? 800,
    maxMs: options.backoffMaxMs ?? 30_000,
    jitter: 0.5,
    random,
    resetAfterMs: options.backoffResetMs ?? 120_000,
  });
  const complete = completer<T>(options.resource);
  const observer = options.observer;
  const resource = options.resource.plural;
  const minTimeout = options.timeoutSeconds ?? 300;
  const position: { resourceVersion?: string } = {};
  let lists = 0;
  while (!signal.aborted) {
    try {
      if (position.resourceVersion === undefined) {
        const listStarted = clock.now();
        const list = await listAll(options, { complete, signal });
        observer?.listed?.({
          resource,
          objects: list.objects.length,
          durationMs: clock.now() - listStarted,
          relist: lists++ > 0,
        });
        yield { type: "init" };
        for (const object of list.objects) yield { type: "initApply", object };
        yield { type: "initDone" };
        position.resourceVersion = list.resourceVersion;
      }
      const watchStarted = clock.now();
      const timeoutSeconds = Math.floor(minTimeout * (1 + random()));
      const events = yield* watchOnce(options, {
        position,
        complete,
        timeoutSeconds,
      });
      if (signal.aborted) return;
      const lastedMs = clock.now() - watchStarted;
      if (events === 0 && lastedMs < 1000) {
        throw new ShortWatchError(
          `Expected a watch to last or to send events, found it closed after ${
            Math.round(lastedMs)
          } ms without any`,
        );
      }
      observer?.restarted?.({ resource, reason: "closed", delayMs: 0 });
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 410) {
        position.resourceVersion = undefined;
      }
      const delay = retryDelay(error, { options, backoff, clock });
      try {
        await sleep(clock, delay, signal);
      } catch {
        return;
      }
    }
  }
}

/** Fills in `apiVersion` and `kind`, which list items lack. */
function completer<T extends KubeObject>(
  resource: ResourceType,
): (object: KubeObject) => T {
  const apiVersion = apiVersionOf(resource);
  const kind = resource.kind;
  return (object: KubeObject) => {
    object.apiVersion ??= apiVersion;
    object.kind ??= kind;
    return object as T;
  };
}

/** Lists every page; the objects and the list's resourceVersion. */
async function listAll<T extends KubeObject>(
  options: WatcherOptions,
  at: { complete: (object: KubeObject) => T; signal: AbortSignal },
): Promise<{ objects: T[]; resourceVersion: string }> {
  const objects: T[] = [];
  let page: KubeList<T> | undefined;
  let token: string | undefined;
  do {
    page = await options.client.list<T>(options.resource, {
      namespace: options.namespace,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      limit: options.pageSize ?? 500,
      continue: token,
      signal: at.signal,
    });
    if (!Array.isArray(page.items) || !page.metadata) {
      throw new WatchProtocolError(
        "Expected a list with items and metadata, found another shape",
      );
    }
    for (const item of page.items) objects.push(at.complete(item));
    token = page.metadata.continue || undefined;
  } while (token);
  const resourceVersion = page.metadata.resourceVersion;
  if (typeof resourceVersion !== "string" || resourceVersion === "") {
    throw new WatchProtocolError(
      "Expected a resourceVersion on the list, found none",
    );
  }
  return { objects, resourceVersion };
}

/**
 * One watch from `position.resourceVersion`: yields its changes, moving
 * `position` past each event (bookmarks included) before it is yielded, and
 * returns how many events arrived. Throws on an `ERROR` event or a
 * malformed one.
 */
async function* watchOnce<T extends KubeObject>(
  options: WatcherOptions,
  at: {
    position: { resourceVersion?: string };
    complete: (object: KubeObject) => T;
    timeoutSeconds: number;
  },
): AsyncGenerator<WatcherEvent<T>, number, undefined> {
  const { position, complete } = at;
  let events = 0;
  for await (
    const raw of watchStream(options, {
      resourceVersion: position.resourceVersion!,
      timeoutSeconds: at.timeoutSeconds,
    })
  ) {
    events++;
    const object = raw.object;
    if (raw.type === "ERROR") {
      throw new ApiError(object.code ?? 500, {
        reason: object.reason,
        message: object.message,
      });
    }
    const version = object?.metadata?.resourceVersion;
    if (typeof version !== "string") {
      throw new WatchProtocolError(
        `Expected an object with a resourceVersion in a ${raw.type} event, found none`,
      );
    }
    if (raw.type === "BOOKMARK") {
      position.resourceVersion = version;
      continue;
    }
    if (raw.type === "ADDED" || raw.type === "MODIFIED") {
      position.resourceVersion = version;
      yield { type: "apply", object: complete(object) };
    } else if (raw.type === "DELETED") {
      position.resourceVersion = version;
      yield { type: "delete", object: complete(object) };
    } else {
      throw new WatchProtocolError(
        `Expected ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, found ${
          JSON.stringify(raw.type)
        }`,
      );
    }
  }
  return events;
}

/**
 * How long to wait after `error` ended a list or a watch (the backoff, or
 * longer when the server asked for it with Retry-After); logs it and tells
 * the observer why the watch restarts.
 */
function retryDelay(
  error: unknown,
  at: { options: WatcherOptions; backoff: JitterBackoff; clock: Clock },
): number {
  const { backoff, clock } = at;
  const logger = at.options.logger ?? silentLogger;
  const observer = at.options.observer;
  const resource = at.options.resource.plural;
  if (error instanceof ApiError && error.status === 410) {
    const delay = backoff.next(clock.now());
    logger.info("watch expired, relisting", {
      resource,
      delayMs: Math.round(delay),
    });
    observer?.restarted?.({ resource, reason: "expired", delayMs: delay });
    return delay;
  }
  const retryAfter = error instanceof ApiError && error.retryAfterSeconds
    ? error.retryAfterSeconds * 1000
    : 0;
  const delay = Math.max(backoff.next(clock.now()), retryAfter);
  logger.warn("watch failed, retrying", {
    resource,
    error,
    delayMs: Math.round(delay),
  });
  observer?.restarted?.({
    resource,
    reason: error instanceof WatchIdleError ? "idle" : "error",
    delayMs: delay,
    error,
  });
  return delay;
}

async function* watchStream(
  options: WatcherOptions,
  request: { resourceVersion: string; timeoutSeconds: number },
): AsyncGenerator<RawEvent, void, undefined> {
  const clock = options.clock ?? systemClock;
  const idleMs = options.idleTimeoutMs ?? 150_000;
  const local = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, local.signal])
    : local.signal;
  let timer = clock.setTimeout(onIdle, idleMs);
  function onIdle() {
    local.abort(
      new WatchIdleError(
        `Expected watch data within ${idleMs} ms, found silence`,
      ),
    );
  }
  // Every read races this, one at a time (a race against one long-lived
  // promise per read would keep each chunk read alive until the watch ends).
  const idle = new Tripwire();
  signal.addEventListener("abort", () => idle.trip(signal.reason), {
    once: true,
  });
  if (signal.aborted) idle.trip(signal.reason);
  try {
    const response = await idle.race(
      options.client.fetch(
        "GET",
        resourcePath(options.resource, { namespace: options.namespace }),
        {
          query: {
            watch: true,
            resourceVersion: request.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: request.timeoutSeconds,
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
          },
          signal,
        },
      ),
    );
    if (!response.ok) throw await readApiError(response);
    if (!response.body) {
      throw new WatchProtocolError("Expected a watch body, found none");
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await idle.race(reader.read());
        clock.clearTimeout(timer);
        timer = clock.setTimeout(onIdle, idleMs);
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== "") yield parseLine(line);
        }
      }
      if (buffer.trim() !== "") yield parseLine(buffer.trim());
    } finally {
      reader.cancel().catch(() => {});
    }
  } finally {
    clock.clearTimeout(timer);
    local.abort();
  }
}

function parseLine(line: string): RawEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new WatchProtocolError(
      `Expected a JSON watch event, found ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
  const event = parsed as Partial<RawEvent> | null;
  if (
    typeof event !== "object" || event === null ||
    typeof event.type !== "string" || typeof event.object !== "object" ||
    event.object === null
  ) {
    throw new WatchProtocolError(
      `Expected a watch event with type and object, found ${
        JSON.stringify(line.slice(0, 80))
      }`,
    );
  }
  return event as RawEvent;
}
