/**
 * Kubernetes Events about objects, with repeated identical events
 * aggregated into one Event whose `count` and `lastTimestamp` grow (core
 * v1) or whose `series` grows (events.k8s.io/v1), instead of a new Event
 * each time.
 *
 * @module
 */
import { isApiError, type KubeClient, type KubeObject } from "./client.ts";

/**
 * `Normal` or `Warning`.
 *
 * @example
 * ```ts
 * import type { KubeObject } from "./client.ts";
 * import type { EventRecorder, EventType } from "./events.ts";
 * declare const recorder: EventRecorder;
 * async function reportSync(widget: KubeObject, error?: Error): Promise<void> {
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
 * import type { KubeObject } from "./client.ts";
 * import type { EventInput, EventRecorder } from "./events.ts";
 * declare const recorder: EventRecorder;
 * declare const widget: KubeObject;
 * const scaled: EventInput = { type: "Normal", reason: "Scaled", message: "scaled from 2 to 5 replicas", action: "Scale" };
 * await recorder.record(widget, scaled);
 * await recorder.record(widget, scaled); // aggregated: the same Event, count 2
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
 * import type { KubeClient } from "./client.ts";
 * import type { KubeEvent } from "./events.ts";
 * declare const client: KubeClient;
 * const events = { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true };
 * const { items } = await client.list<KubeEvent>(events, {
 *   namespace: "default",
 *   fieldSelector: "involvedObject.name=web,type=Warning",
 * });
 * for (const e of items) console.log(e.lastTimestamp, e.reason, `x${e.count}`, e.message);
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
 * Options of an {@linkcode EventRecorder}.
 *
 * @example
 * ```ts
 * import type { KubeClient } from "./client.ts";
 * import { EventRecorder, type EventRecorderOptions } from "./events.ts";
 * declare const client: KubeClient;
 * const options: EventRecorderOptions = {
 *   api: "events.k8s.io/v1", // `regarding` and `series` instead of `involvedObject` and `count`
 *   instance: "widget-operator-0", // e.g. the pod name
 *   cacheSize: 1024,
 * };
 * const recorder = new EventRecorder(client, "widget-operator", options);
 * ```
 */
export interface EventRecorderOptions {
  /** The reporting instance, e.g. the pod name (default: the component). */
  instance?: string;
  /** The time source (default `new Date()`). */
  now?: () => Date;
  /** How many distinct events are remembered for aggregation (default 4096). */
  cacheSize?: number;
  /**
   * Which Events API to write: core `v1` (`involvedObject`, `count`; the
   * default) or `events.k8s.io/v1` (`regarding`, `series`).
   */
  api?: "v1" | "events.k8s.io/v1";
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

interface Entry {
  name: string | undefined;
  namespace: string;
  count: number;
  sent: number;
  first: Date;
  last: Date;
  flushing: Promise<void> | null;
}

/**
 * Records Events about objects. The first occurrence creates an Event; an
 * identical one (same object, type, reason, message) patches its `count`
 * and `lastTimestamp` (or, with `api: "events.k8s.io/v1"`, its `series`);
 * occurrences during a write coalesce into one write. An Event that expired
 * on the server (404 on the patch) is created afresh.
 *
 * @example
 * ```ts ignore
 * import { EventRecorder } from "./events.ts";
 * const recorder = new EventRecorder(client, "my-operator");
 * await recorder.normal(obj, { reason: "Created", message: "created the deployment" });
 * await recorder.warning(obj, { reason: "Failed", message: "quota exceeded" });
 * ```
 */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;
  readonly #instance: string;
  readonly #now: () => Date;
  readonly #cacheSize: number;
  readonly #newApi: boolean;
  readonly #cache = new Map<string, Entry>();

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
    this.#cacheSize = options.cacheSize ?? 4096;
    this.#newApi = options.api === "events.k8s.io/v1";
  }

  /** Records a Normal event. */
  normal(
    object: KubeObject,
    event: Omit<EventInput, "type">,
  ): Promise<void> {
    return this.record(object, { ...event, type: "Normal" });
  }

  /** Records a Warning event. */
  warning(
    object: KubeObject,
    event: Omit<EventInput, "type">,
  ): Promise<void> {
    return this.record(object, { ...event, type: "Warning" });
  }

  /** Records an event about `object`. */
  record(object: KubeObject, event: EventInput): Promise<void> {
    const ref = referenceOf(object);
    const key = JSON.stringify([
      ref.apiVersion,
      ref.kind,
      ref.namespace,
      ref.name,
      ref.uid,
      event.type,
      event.reason,
      event.message,
      event.action,
    ]);
    const now = this.#now();
    let entry = this.#cache.get(key);
    if (entry) {
      this.#cache.delete(key);
    } else {
      entry = {
        name: undefined,
        namespace: ref.namespace ?? "default",
        count: 0,
        sent: 0,
        first: now,
        last: now,
        flushing: null,
      };
      if (this.#cache.size >= this.#cacheSize) {
        const oldest = this.#cache.keys().next().value as string;
        this.#cache.delete(oldest);
      }
    }
    this.#cache.set(key, entry);
    entry.count++;
    entry.last = now;
    entry.flushing ??= this.#flush(entry, ref, event);
    return entry.flushing;
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
        if (entry.name !== undefined) {
          try {
            await this.#client.patch(
              this.#newApi ? EVENTS_V1 : EVENTS,
              entry.name,
              this.#newApi
                ? { series: { count, lastObservedTime: microTime(last) } }
                : { count, lastTimestamp: timestamp(last) },
              { namespace: entry.namespace, type: "merge" },
            );
            entry.sent = count;
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
            note: event.message,
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
            message: event.message,
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
      }
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
