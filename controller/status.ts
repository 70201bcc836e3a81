/**
 * Status updates: {@linkcode StatusCondition} values and the
 * {@linkcode StatusPatch} builder, which merges conditions (keeping
 * `lastTransitionTime` when a condition's status did not change), sets
 * `observedGeneration`, and writes to the status subresource only when
 * something changed, guarded by the resourceVersion it read: when another
 * writer got there first (409), it reads the object again and merges its
 * conditions into the fresh list, so other controllers' conditions survive.
 *
 * @module
 */
import { isApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import type { KubeObject, ResourceType } from "../client/objects.ts";
import { deepEqual } from "./_json.ts";
import { consoleLogger, type Logger } from "../common/log.ts";

/**
 * A condition's status.
 *
 * @example
 * ```ts
 * import { type ConditionStatus, StatusCondition } from "./status.ts";
 * function probed(reachable: boolean | undefined): ConditionStatus {
 *   return reachable === undefined ? "Unknown" : reachable ? "True" : "False";
 * }
 * const condition = new StatusCondition("DatabaseReachable", probed(undefined), {
 *   reason: "NotProbedYet",
 * });
 * ```
 */
export type ConditionStatus = "True" | "False" | "Unknown";

/**
 * A condition as stored in `status.conditions` (metav1.Condition).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Condition } from "./status.ts";
 * const ready: Condition = {
 *   type: "Ready",
 *   status: "True",
 *   reason: "AllReplicasReady",
 *   message: "3/3 replicas ready",
 *   lastTransitionTime: "2024-05-01T12:00:00Z",
 *   observedGeneration: 4,
 * };
 * const conditions: Condition[] = [ready];
 * const isReady = conditions.some((c) => c.type === "Ready" && c.status === "True");
 * assert.equal(isReady, true);
 * ```
 */
export interface Condition {
  /** CamelCase type, e.g. `Ready`. */
  type: string;
  /** True, False or Unknown. */
  status: ConditionStatus;
  /** CamelCase reason. */
  reason: string;
  /** Human-readable detail. */
  message: string;
  /** When `status` last changed (RFC 3339). */
  lastTransitionTime: string;
  /** The generation the condition was computed from. */
  observedGeneration?: number;
}

/**
 * An immutable condition value. Reason defaults to the type (status True) or
 * `Not<Type>` (otherwise); message defaults to empty.
 *
 * @example
 * ```ts
 * import { StatusCondition } from "./status.ts";
 * const ready = StatusCondition.ready(false)
 *   .withReason("Provisioning")
 *   .withMessage("waiting for the volume")
 *   .withGeneration(3);
 * ```
 */
export class StatusCondition {
  /** The condition type. */
  readonly type: string;
  /** The status. */
  readonly status: ConditionStatus;
  /** The reason, if set. */
  readonly reason: string | undefined;
  /** The message, if set. */
  readonly message: string | undefined;
  /** The generation, if set. */
  readonly generation: number | undefined;

  /** A condition of any type. */
  constructor(
    type: string,
    status: ConditionStatus,
    extra: { reason?: string; message?: string; generation?: number } = {},
  ) {
    if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(type)) {
      throw new TypeError(
        `Expected a CamelCase condition type, found ${JSON.stringify(type)}`,
      );
    }
    this.type = type;
    this.status = status;
    this.reason = extra.reason;
    this.message = extra.message;
    this.generation = extra.generation;
  }

  /** `Ready` with status True or False. */
  static ready(ready: boolean): StatusCondition {
    return new StatusCondition("Ready", ready ? "True" : "False");
  }

  /** `Available` with status True or False. */
  static available(available: boolean): StatusCondition {
    return new StatusCondition("Available", available ? "True" : "False");
  }

  /** The same condition with `reason`. */
  withReason(reason: string): StatusCondition {
    return new StatusCondition(this.type, this.status, {
      ...this.#extra(),
      reason,
    });
  }

  /** The same condition with `message`. */
  withMessage(message: string): StatusCondition {
    return new StatusCondition(this.type, this.status, {
      ...this.#extra(),
      message,
    });
  }

  /** The same condition with `observedGeneration`. */
  withGeneration(generation: number): StatusCondition {
    return new StatusCondition(this.type, this.status, {
      ...this.#extra(),
      generation,
    });
  }

  /**
   * The stored form, given the previous condition of this type: the
   * transition time is kept when the status is unchanged, `now` otherwise.
   */
  toCondition(previous: Condition | undefined, now: Date): Condition {
    const condition: Condition = {
      type: this.type,
      status: this.status,
      reason: this.reason ??
        (this.status === "True" ? this.type : `Not${this.type}`),
      message: this.message ?? "",
      lastTransitionTime: previous && previous.status === this.status &&
          previous.lastTransitionTime
        ? previous.lastTransitionTime
        : now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    if (this.generation !== undefined) {
      condition.observedGeneration = this.generation;
    }
    return condition;
  }

  #extra() {
    return {
      reason: this.reason,
      message: this.message,
      generation: this.generation,
    };
  }
}

/**
 * Merges `condition` into `conditions`, keeping the order and the
 * transition time of an unchanged status. Returns a new array.
 *
 * @example
 * ```ts
 * import { mergeConditions, StatusCondition } from "./status.ts";
 * const next = mergeConditions([], StatusCondition.ready(true), new Date());
 * ```
 */
export function mergeConditions(
  conditions: readonly Condition[],
  condition: StatusCondition,
  now: Date,
): Condition[] {
  const index = conditions.findIndex((c) => c.type === condition.type);
  const merged = condition.toCondition(conditions[index], now);
  if (index < 0) return [...conditions, merged];
  const next = [...conditions];
  next[index] = merged;
  return next;
}

/**
 * Options of a {@linkcode StatusPatch}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KubeClient, KubeObject } from "@k8s-operator/k8s-operator/controller";
 * import { StatusCondition, StatusPatch, type StatusPatchOptions } from "@k8s-operator/k8s-operator/controller";
 * const options: StatusPatchOptions = {
 *   client: undefined as unknown as KubeClient, // build() sends nothing; apply() needs a real one
 *   resource: { group: "example.com", version: "v1", plural: "widgets", kind: "Widget", namespaced: true },
 *   now: () => new Date("2024-05-01T12:00:00Z"), // fixed transition times, e.g. in tests
 * };
 * const widget: KubeObject = { metadata: { name: "web", namespace: "default", generation: 2 } };
 * assert.deepEqual(new StatusPatch(widget, options).condition(StatusCondition.ready(true)).build(), {
 *   status: {
 *     conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "2024-05-01T12:00:00Z" }],
 *   },
 * });
 * ```
 */
export interface StatusPatchOptions {
  /** The client to write with (use `ctx.client` so writes are fenced). */
  client: KubeClient;
  /** The object's resource type. */
  resource: ResourceType;
  /** The time source for transition times (default `new Date()`). */
  now?: () => Date;
  /** Cancels the write. */
  signal?: AbortSignal;
  /**
   * Writes when the object changed since it was read (409): each re-reads
   * the object and recomputes the patch from it (default 5).
   */
  attempts?: number;
  /**
   * Where the one warning per resource goes when the API server returns the
   * status without fields that were sent (default: the console).
   */
  logger?: Logger;
}

/**
 * Builds a status update from the object's current status.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { Conditions, defineCustomResource, ObservedGeneration } from "../crd/mod.ts";
 * import { KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { StatusCondition, StatusPatch } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * const Widget = defineCustomResource({
 *   group: "example.com", version: "v1", kind: "Widget", scope: "Namespaced",
 *   spec: Type.Object({ size: Type.Integer() }),
 *   status: Type.Object({
 *     replicas: Type.Optional(Type.Integer()),
 *     observedGeneration: Type.Optional(ObservedGeneration()),
 *     conditions: Type.Optional(Conditions()),
 *   }),
 * });
 * await using server = await TestApiServer.start();
 * await Widget.install(server.kubeConfig(), { fieldManager: "widget-operator" });
 * const client = KubeClient.fromKubeConfig(server.kubeConfig()); // in a reconcile: ctx.client
 * const obj = await Widget.client(client).create(Widget.build({ metadata: { name: "web", namespace: "default" }, spec: { size: 3 } }));
 * const updated = await new StatusPatch(obj, { client, resource: Widget })
 *   .set("replicas", 3)
 *   .condition(StatusCondition.ready(true).withReason("AllReplicasUp"))
 *   .observedGeneration()
 *   .apply();
 * assert.equal(updated?.status?.replicas, 3);
 * assert.equal(updated?.status?.conditions?.[0].reason, "AllReplicasUp");
 * assert.equal(updated?.status?.observedGeneration, obj.metadata.generation);
 * ```
 */
export class StatusPatch<T extends KubeObject & { status?: unknown }> {
  readonly #object: T;
  readonly #options: StatusPatchOptions;
  readonly #sets: Array<[string[], unknown]> = [];
  readonly #conditions: StatusCondition[] = [];

  /** Starts a patch of `object`'s status. */
  constructor(object: T, options: StatusPatchOptions) {
    this.#object = object;
    this.#options = options;
  }

  /** Sets `path` (dot-separated, relative to `status`) to `value`. */
  set(path: string, value: unknown): this {
    const parts = path.split(".");
    if (parts.some((p) => p === "") || parts[0] === "conditions") {
      throw new TypeError(
        `Expected a dot-separated status path other than conditions, found ${
          JSON.stringify(path)
        }`,
      );
    }
    this.#sets.push([parts, value]);
    return this;
  }

  /** Sets or replaces a condition of the same type. */
  condition(condition: StatusCondition): this {
    this.#conditions.push(condition);
    return this;
  }

  /**
   * Sets `status.observedGeneration` (default: the object's
   * `metadata.generation`).
   */
  observedGeneration(generation?: number): this {
    const value = generation ?? this.#object.metadata.generation;
    if (value === undefined) {
      throw new TypeError(
        "Expected metadata.generation for observedGeneration, found none",
      );
    }
    this.#sets.push([["observedGeneration"], value]);
    return this;
  }

  /** The desired status after this patch. */
  desired(): Record<string, unknown> {
    return this.#desired(this.#object);
  }

  #desired(object: T): Record<string, unknown> {
    const current = statusOf(object);
    const next = structuredClone(current);
    for (const [parts, value] of this.#sets) {
      let node: Record<string, unknown> = next;
      for (const part of parts.slice(0, -1)) {
        const child = node[part];
        if (
          typeof child !== "object" || child === null || Array.isArray(child)
        ) {
          node[part] = {};
        }
        node = node[part] as Record<string, unknown>;
      }
      node[parts.at(-1)!] = value;
    }
    if (this.#conditions.length > 0) {
      const now = (this.#options.now ?? (() => new Date()))();
      let conditions = Array.isArray(current.conditions)
        ? current.conditions as Condition[]
        : [];
      for (const condition of this.#conditions) {
        conditions = mergeConditions(conditions, condition, now);
      }
      next.conditions = conditions;
    }
    return next;
  }

  /**
   * The merge patch to send (`{ status: ... }` with only changed top-level
   * status fields), or `null` when nothing changes. `apply` adds the
   * object's resourceVersion as a precondition.
   */
  build(): { status: Record<string, unknown> } | null {
    return this.#build(this.#object);
  }

  #build(object: T): { status: Record<string, unknown> } | null {
    const current = statusOf(object);
    const desired = this.#desired(object);
    const changed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(desired)) {
      if (!deepEqual(current[key], value)) changed[key] = value;
    }
    return Object.keys(changed).length === 0 ? null : { status: changed };
  }

  /**
   * Sends the patch to the status subresource as a merge patch carrying
   * the resourceVersion it was computed from; returns the updated object,
   * or `null` without any request when nothing changed. When the object
   * changed meanwhile (409), it reads it again and recomputes the patch
   * from the fresh status (so conditions written by other controllers are
   * kept), up to `attempts` writes.
   */
  async apply(): Promise<T | null> {
    const { name, namespace } = this.#object.metadata;
    if (name === undefined) {
      throw new TypeError("Expected metadata.name to patch status, found none");
    }
    const attempts = this.#options.attempts ?? 5;
    let object = this.#object;
    for (let attempt = 1;; attempt++) {
      const patch = this.#build(object);
      if (patch === null) return null;
      const resourceVersion = object.metadata.resourceVersion;
      try {
        const updated = await this.#options.client.patch<T>(
          this.#options.resource,
          name,
          patch,
          {
            namespace,
            subresource: "status",
            type: "merge",
            resourceVersion,
            signal: this.#options.signal,
          },
        );
        warnIfPruned(patch.status, updated, this.#options);
        return updated;
      } catch (error) {
        if (
          !isApiError(error, 409) || resourceVersion === undefined ||
          attempt >= attempts
        ) {
          throw error;
        }
        object = await this.#options.client.get<T>(
          this.#options.resource,
          name,
          { namespace, signal: this.#options.signal },
        );
      }
    }
  }
}

function statusOf(object: KubeObject & { status?: unknown }): Record<
  string,
  unknown
> {
  const status = object.status;
  return typeof status === "object" && status !== null
    ? status as Record<string, unknown>
    : {};
}

const warned = new WeakMap<Logger, Set<string>>();

/**
 * Warns once per logger and resource when the object the API server
 * returned lacks status fields that were sent: the CRD's status schema
 * does not declare them, so the server pruned them, and every reconcile
 * would send (and record an Event for) the same change again.
 */
function warnIfPruned(
  sent: Record<string, unknown>,
  returned: KubeObject & { status?: unknown },
  options: StatusPatchOptions,
): void {
  const status = typeof returned?.status === "object" && returned.status
    ? returned.status as Record<string, unknown>
    : {};
  const missing = missingPaths(sent, status, "status");
  if (missing.length === 0) return;
  const logger = options.logger ?? consoleLogger;
  const { group, plural } = options.resource;
  const name = group === "" ? plural : `${plural}.${group}`;
  const seen = warned.get(logger) ?? new Set<string>();
  warned.set(logger, seen);
  if (seen.has(name)) return;
  seen.add(name);
  logger.warn(
    `status written to ${name} came back without ${
      missing.join(", ")
    }: the API server pruned fields the CRD's status schema does not declare, so every reconcile will write them again; declare them (crd: Conditions(), ObservedGeneration()) and reinstall the CRD`,
    { resource: name, missing },
  );
}

/** Paths of non-null values in `sent` that `returned` lacks. */
function missingPaths(
  sent: unknown,
  returned: unknown,
  path: string,
): string[] {
  if (sent === null || sent === undefined) return [];
  if (returned === null || returned === undefined) return [path];
  if (Array.isArray(sent)) {
    if (!Array.isArray(returned)) return [path];
    return sent.flatMap((item, i) =>
      missingPaths(item, returned[i], `${path}[${i}]`)
    );
  }
  if (typeof sent === "object") {
    if (typeof returned !== "object" || Array.isArray(returned)) return [path];
    return Object.entries(sent as Record<string, unknown>).flatMap((
      [key, value],
    ) =>
      missingPaths(
        value,
        (returned as Record<string, unknown>)[key],
        `${path}.${key}`,
      )
    );
  }
  return [];
}
