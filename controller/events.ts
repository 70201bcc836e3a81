/**
 * Kubernetes Events about objects, recorded as client-go's EventCorrelator
 * does: repeated identical events aggregated into one Event whose `count`
 * and `lastTimestamp` grow (core v1) or whose `series` grows
 * (events.k8s.io/v1), similar events combined, a per-object spam filter,
 * and never an error for the caller: a failed write is logged and counted.
 *
 * @module
 */
import { isApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject } from "../client/objects.ts";
import { type Logger, silentLogger } from "../common/log.ts";

/**
 * `Normal` or `Warning`.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import type { EventRecorder, EventType } from "@k8s-operator/k8s-operator/controller";
 * async function reportSync(recorder: EventRecorder, widget: KubeObject, error?: Error): Promise<void> {
 *   const type: EventType = error ? "Warning" : "Normal";
 *   const reason = error ? "SyncFailed" : "Synced";
 *   await recorder.record(widget, { type, reason, message: error?.message ?? "in sync" });
 * }
 * ```
 */
export type EventType = "Normal" | "Warning";

/**
 * The object an event is about.
 *
 * @example
 * ```ts
 * import { type ObjectReference, referenceOf } from "./events.ts";
 * const ref: ObjectReference = referenceOf({
 *   apiVersion: "example.com/v1",
 *   kind: "Widget",
 *   metadata: { name: "web", namespace: "default", uid: "9f1c", resourceVersion: "42" },
 * });
 * // { apiVersion: "example.com/v1", kind: "Widget", name: "web", uid: "9f1c",
 * //   resourceVersion: "42", namespace: "default" }
 * ```
 */
export interface ObjectReference {
  /** apiVersion of the object. */
  apiVersion?: string;
  /** Kind of the object. */
  kind?: string;
  /** Name. */
  name?: string;
  /** Namespace. */
  namespace?: string;
  /** Uid. */
  uid?: string;
  /** Resource version at the time of the event. */
  resourceVersion?: string;
  /** A field inside the object, e.g. `spec.containers{web}`. */
  fieldPath?: string;
}

/**
 * One event to record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient, type KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { type EventInput, EventRecorder, type KubeEvent } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const events = { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true };
 * const web = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * const recorder = new EventRecorder(client, "widget-operator");
 * const scaled: EventInput = { type: "Normal", reason: "Scaled", message: "scaled from 2 to 5 replicas", action: "Scale" };
 * await recorder.record(web, scaled);
 * await recorder.record(web, scaled); // aggregated: the same Event, count 2
 * const { items } = await client.list<KubeEvent>(events, { namespace: "default" });
 * assert.equal(items.length, 1);
 * assert.equal(items[0].count, 2);
 * ```
 */
export interface EventInput {
  /** Normal or Warning. */
  type: EventType;
  /** CamelCase reason, e.g. `Scaled`. */
  reason: string;
  /** Human-readable message. */
  message: string;
  /** What was done, e.g. `Scale` (default: the reason). */
  action?: string;
}

/**
 * An Event object as written to `/api/v1/namespaces/{ns}/events`.
 *
 * @example Listing the Warnings about an object
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { EventRecorder, type KubeEvent } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const web = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * await new EventRecorder(client, "widget-operator").warning(web, { reason: "Failed", message: "quota exceeded" });
 * const events = { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true };
 * const { items } = await client.list<KubeEvent>(events, {
 *   namespace: "default",
 *   fieldSelector: "involvedObject.name=web,type=Warning",
 * });
 * const lines = items.map((e) => `${e.reason} x${e.count}: ${e.message}`);
 * assert.deepEqual(lines, ["Failed x1: quota exceeded"]);
 * ```
 */
export interface KubeEvent extends KubeObject {
  /** The object this event is about. */
  involvedObject: ObjectReference;
  /** Reason. */
  reason: string;
  /** Message. */
  message: string;
  /** Normal or Warning. */
  type: EventType;
  /** How many times it happened. */
  count: number;
  /** First occurrence (RFC 3339). */
  firstTimestamp: string;
  /** Last occurrence (RFC 3339). */
  lastTimestamp: string;
  /** The reporting component. */
  source: { component: string; host?: string };
  /** The reporting controller. */
  reportingComponent: string;
  /** The reporting instance (e.g. the pod name). */
  reportingInstance: string;
  /** The action. */
  action: string;
}

/**
 * What became of one recorded occurrence: a new Event was `created`, an
 * existing one `updated` (its count or series), the spam filter `filtered`
 * it (not written), or the write `failed` (logged; the occurrence is still
 * counted and written with the next one that gets through).
 *
 * @example
 * ```ts
 * import type { EventOutcome, EventRecorderObserver } from "./events.ts";
 * const counts: Record<EventOutcome, number> = { created: 0, updated: 0, filtered: 0, failed: 0 };
 * const observer: EventRecorderObserver = { recorded: ({ outcome }) => void counts[outcome]++ };
 * ```
 */
export type EventOutcome = "created" | "updated" | "filtered" | "failed";

/**
 * Hooks an {@linkcode EventRecorder} calls, for metrics. A hook must not
 * throw.
 *
 * @example Counting Events that could not be written
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { EventRecorder, type EventRecorderObserver } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * let failed = 0;
 * const observer: EventRecorderObserver = {
 *   recorded: ({ outcome }) => {
 *     if (outcome === "failed") failed++;
 *   },
 * };
 * const recorder = new EventRecorder(client, "widget-operator", { observer });
 * server.faults.failNext({ verb: "create", resource: "events", status: 403 }); // no RBAC rule for events
 * await recorder.normal({ metadata: { name: "web", namespace: "default", uid: "6f1c" } }, { reason: "Synced", message: "in sync" });
 * assert.equal(failed, 1); // recording never throws: this is where failures show
 * ```
 */
export interface EventRecorderObserver {
  /** One write (or drop) ended: see {@linkcode EventOutcome}. */
  recorded?(event: {
    type: EventType;
    reason: string;
    outcome: EventOutcome;
    error?: unknown;
  }): void;
}

/**
 * The spam filter of an {@linkcode EventRecorder} (client-go's
 * `EventSourceObjectSpamFilter`): a token bucket per source, object and
 * event type.
 *
 * @example One event per minute per object after a burst of 10
 * ```ts
 * import type { EventSpamFilterOptions } from "./events.ts";
 * const spam: EventSpamFilterOptions = { burst: 10, qps: 1 / 60 };
 * ```
 */
export interface EventSpamFilterOptions {
  /** Events let through at once (default 25). */
  burst?: number;
  /** Events per second after the burst (default 1/300: one per 5 minutes). */
  qps?: number;
}

/**
 * How an {@linkcode EventRecorder} combines similar events (client-go's
 * `EventAggregator`): events about the same object with the same type,
 * reason and action but different messages.
 *
 * @example
 * ```ts
 * import type { EventAggregateOptions } from "./events.ts";
 * const aggregate: EventAggregateOptions = { maxEvents: 5, intervalMs: 60_000 };
 * ```
 */
export interface EventAggregateOptions {
  /**
   * From the `maxEvents`-th distinct message within `intervalMs`, occurrences
   * go to one Event whose message is `(combined from similar events): `
   * followed by the latest message (default 10).
   */
  maxEvents?: number;
  /** How long similar events are remembered since the last one (default 600,000 ms). */
  intervalMs?: number;
}

/**
 * Options of an {@linkcode EventRecorder}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { EventRecorder, type EventRecorderOptions } from "@k8s-operator/k8s-operator/controller";
 * import { consoleLogger } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const options: EventRecorderOptions = {
 *   api: "events.k8s.io/v1", // with regarding and series instead of involvedObject and count
 *   instance: "widget-operator-0", // e.g. the pod name
 *   cacheSize: 1024,
 *   spam: { burst: 25, qps: 1 / 300 }, // client-go's defaults
 *   logger: consoleLogger, // failed writes are logged at warn
 * };
 * const recorder = new EventRecorder(client, "widget-operator", options);
 * await recorder.normal({ metadata: { name: "web", namespace: "default", uid: "6f1c" } }, { reason: "Synced", message: "in sync" });
 * const newEvents = { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true };
 * assert.equal((await client.list(newEvents, { namespace: "default" })).items.length, 1);
 * ```
 */
export interface EventRecorderOptions {
  /** The reporting instance, e.g. the pod name (default: the component). */
  instance?: string;
  /** The time source (default `new Date()`). */
  now?: () => Date;
  /**
   * How many distinct events (and objects, for the spam filter) are
   * remembered (default 4096).
   */
  cacheSize?: number;
  /**
   * Which Events API to write: core `v1` (`involvedObject`, `count`; the
   * default) or `events.k8s.io/v1` (`regarding`, `series`).
   */
  api?: "v1" | "events.k8s.io/v1";
  /** The per-object rate limit, or `false` for none (default: client-go's). */
  spam?: EventSpamFilterOptions | false;
  /** How similar events are combined, or `false` never to (default: client-go's). */
  aggregate?: EventAggregateOptions | false;
  /** Where failed writes are logged, at `warn` (default: nowhere). */
  logger?: Logger;
  /** Metrics hooks (default none). */
  observer?: EventRecorderObserver;
}

const EVENTS = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
} as const;

const EVENTS_V1 = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
} as const;

const COMBINED_PREFIX = "(combined from similar events): ";

interface Entry {
  name: string | undefined;
  namespace: string;
  count: number;
  sent: number;
  first: Date;
  last: Date;
  /** The message to write; for a combined entry, the latest one. */
  message: string;
  combined: boolean;
  flushing: Promise<void> | null;
}

/** A bounded map that forgets the least recently used key first. */
class Lru<V> {
  readonly #map = new Map<string, V>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  get(key: string): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#map.delete(key);
    if (this.#map.size >= this.#size) {
      this.#map.delete(this.#map.keys().next().value as string);
    }
    this.#map.set(key, value);
  }
}

/**
 * Records Events about objects, as client-go's recorder does, without
 * ever failing the caller:
 *
 * - the first occurrence creates an Event; an identical one (same object,
 *   type, reason, action, message) patches its `count` and
 *   `lastTimestamp` (or, with `api: "events.k8s.io/v1"`, its `series`);
 *   occurrences during a write coalesce into one write; an Event that
 *   expired on the server (404 on the patch) is created afresh;
 * - similar events (same object, type, reason and action, 10 different
 *   messages within 10 minutes) are combined into one Event;
 * - a spam filter lets through a burst of 25 events per object and type,
 *   then one per 5 minutes; the rest are dropped (`filtered`);
 * - a write that fails (403, a terminating namespace, a fenced client, a
 *   network error) is logged at `warn` and reported as `failed`; the
 *   promise `record` returns always resolves, so firing and forgetting it
 *   is safe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { EventRecorder } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * const obj = await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * const recorder = new EventRecorder(client, "my-operator");
 * await recorder.normal(obj, { reason: "Created", message: "created the deployment" });
 * recorder.warning(obj, { reason: "Failed", message: "quota exceeded" }); // fire and forget: never rejects
 * const events = { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true };
 * await recorder.normal(obj, { reason: "Synced", message: "done" }); // the warning went out before it
 * assert.equal((await client.list(events, { namespace: "default" })).items.length, 3);
 * ```
 */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #now: () => Date;
  readonly #newApi: boolean;
  readonly #logger: Logger;
  readonly #observer: EventRecorderObserver | undefined;
  readonly #entries: Lru<Entry>;
  readonly #spam: { burst: number; intervalMs: number } | null;
  readonly #spamTat: Lru<number>;
  readonly #aggregate: { maxEvents: number; intervalMs: number } | null;
  readonly #similar: Lru<{ messages: Set<string>; last: number }>;

  /** A recorder that reports as `component`. */
  constructor(
    client: KubeClient,
    component: string,
    options: EventRecorderOptions = {},
  ) {
    this.#client = client;
    this.#component = component;
    this.#instance = options.instance ?? component;
    this.#now = options.now ?? (() => new Date());
    this.#newApi = options.api === "events.k8s.io/v1";
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer;
    const cacheSize = options.cacheSize ?? 4096;
    this.#entries = new Lru(cacheSize);
    this.#spamTat = new Lru(cacheSize);
    this.#similar = new Lru(cacheSize);
    if (options.spam === false) {
      this.#spam = null;
    } else {
      const burst = options.spam?.burst ?? 25;
      const qps = options.spam?.qps ?? 1 / 300;
      if (!(burst >= 1) || !(qps > 0)) {
        throw new RangeError(
          `Expected a spam filter burst >= 1 and qps > 0, found burst ${burst} and qps ${qps}`,
        );
      }
      this.#spam = { burst, intervalMs: 1000 / qps };
    }
    if (options.aggregate === false) {
      this.#aggregate = null;
    } else {
      const maxEvents = options.aggregate?.maxEvents ?? 10;
      const intervalMs = options.aggregate?.intervalMs ?? 600_000;
      if (!(maxEvents >= 2) || !(intervalMs > 0)) {
        throw new RangeError(
          `Expected aggregate maxEvents >= 2 and intervalMs > 0, found ${maxEvents} and ${intervalMs}`,
        );
      }
      this.#aggregate = { maxEvents, intervalMs };
    }
  }

  /** Records a Normal event; never rejects (see {@linkcode EventRecorder.record}). */
  normal(
    object: KubeObject,
    event: Omit<EventInput, "type">,
  ): Promise<void> {
    return this.record(object, { ...event, type: "Normal" });
  }

  /** Records a Warning event; never rejects (see {@linkcode EventRecorder.record}). */
  warning(
    object: KubeObject,
    event: Omit<EventInput, "type">,
  ): Promise<void> {
    return this.record(object, { ...event, type: "Warning" });
  }

  /**
   * Records an event about `object`. The promise resolves once the
   * occurrence is written, combined into a write in flight, filtered or
   * failed; it never rejects.
   */
  record(object: KubeObject, event: EventInput): Promise<void> {
    const ref = referenceOf(object);
    const now = this.#now();
    const subject = [
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      event.type,
    ];
    let message = event.message;
    let key = JSON.stringify([
      ...subject,
      event.reason,
      event.action,
      message,
    ]);
    let combined = false;
    if (this.#aggregate) {
      const similarKey = JSON.stringify([
        ...subject,
        event.reason,
        event.action,
      ]);
      let similar = this.#similar.get(similarKey);
      if (
        !similar || now.getTime() - similar.last > this.#aggregate.intervalMs
      ) {
        similar = { messages: new Set(), last: now.getTime() };
      }
      similar.messages.add(message);
      similar.last = now.getTime();
      this.#similar.set(similarKey, similar);
      if (similar.messages.size >= this.#aggregate.maxEvents) {
        // As client-go: keep the set one short of the limit, so every
        // further distinct message also goes to the combined Event.
        similar.messages.delete(similar.messages.values().next().value!);
        combined = true;
        message = COMBINED_PREFIX + message;
        key = JSON.stringify([...subject, event.reason, event.action, null]);
      }
    }
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        name: undefined,
        namespace: ref.namespace ?? "default",
        count: 0,
        sent: 0,
        first: now,
        last: now,
        message,
        combined,
        flushing: null,
      };
      this.#entries.set(key, entry);
    }
    entry.count++;
    entry.last = now;
    entry.message = message;
    if (entry.flushing) return entry.flushing;
    if (!this.#admit(JSON.stringify(subject), now.getTime())) {
      this.#report(event, "filtered");
      return Promise.resolve();
    }
    entry.flushing = this.#flush(entry, ref, event);
    return entry.flushing;
  }

  /** The spam filter: a token bucket per object and type (GCRA form, exact in integer ms). */
  #admit(key: string, now: number): boolean {
    if (!this.#spam) return true;
    const { burst, intervalMs } = this.#spam;
    const tat = Math.max(this.#spamTat.get(key) ?? now, now);
    if (tat - (burst - 1) * intervalMs > now) return false;
    this.#spamTat.set(key, tat + intervalMs);
    return true;
  }

  #report(event: EventInput, outcome: EventOutcome, error?: unknown): void {
    try {
      this.#observer?.recorded?.({
        type: event.type,
        reason: event.reason,
        outcome,
        ...(error === undefined ? {} : { error }),
      });
    } catch (observerError) {
      this.#logger.error("event observer failed", { error: observerError });
    }
  }

  async #flush(
    entry: Entry,
    ref: ObjectReference,
    event: EventInput,
  ): Promise<void> {
    try {
      while (entry.sent < entry.count) {
        const count = entry.count;
        const last = entry.last;
        const message = entry.message;
        if (entry.name !== undefined) {
          try {
            await this.#client.patch(
              this.#newApi ? EVENTS_V1 : EVENTS,
              entry.name,
              this.#newApi
                ? { series: { count, lastObservedTime: microTime(last) } }
                : {
                  count,
                  lastTimestamp: timestamp(last),
                  ...(entry.combined ? { message } : {}),
                },
              { namespace: entry.namespace, type: "merge" },
            );
            entry.sent = count;
            this.#report(event, "updated");
            continue;
          } catch (error) {
            if (!isApiError(error, 404)) throw error;
            entry.name = undefined;
          }
        }
        const metadata = {
          generateName: `${ref.name ?? "object"}.`,
          namespace: entry.namespace,
        };
        const action = event.action ?? event.reason;
        const created = this.#newApi
          ? await this.#client.create<KubeObject>(EVENTS_V1, {
            metadata,
            eventTime: microTime(entry.first),
            regarding: ref,
            reason: event.reason,
            note: message,
            type: event.type,
            action,
            reportingController: this.#component,
            reportingInstance: this.#instance,
            ...(count > 1
              ? { series: { count, lastObservedTime: microTime(last) } }
              : {}),
          } as KubeObject)
          : await this.#client.create<KubeEvent>(EVENTS, {
            metadata,
            involvedObject: ref,
            reason: event.reason,
            message,
            type: event.type,
            count,
            firstTimestamp: timestamp(entry.first),
            lastTimestamp: timestamp(last),
            source: { component: this.#component },
            reportingComponent: this.#component,
            reportingInstance: this.#instance,
            action,
          });
        entry.name = created.metadata.name;
        entry.sent = count;
        this.#report(event, "created");
      }
    } catch (error) {
      // Recording is best effort, as in client-go: a rejected Event (403, a
      // terminating namespace), a fenced client or a network error must
      // never fail the caller, who usually does not await it. The count
      // stays, so the next occurrence writes it.
      this.#logger.warn("event not recorded", {
        reason: event.reason,
        type: event.type,
        object: ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name,
        error,
      });
      this.#report(event, "failed", error);
    } finally {
      entry.flushing = null;
    }
  }
}

/**
 * The reference an Event carries for `object`.
 *
 * @example
 * ```ts
 * import { referenceOf } from "./events.ts";
 * referenceOf({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "default", uid: "u1" } });
 * ```
 */
export function referenceOf(object: KubeObject): ObjectReference {
  const ref: ObjectReference = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata.name,
    uid: object.metadata.uid,
    resourceVersion: object.metadata.resourceVersion,
  };
  if (object.metadata.namespace) ref.namespace = object.metadata.namespace;
  return ref;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, "000Z");
}
