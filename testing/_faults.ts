/**
 * The fault injector behind `TestApiServer.faults`.
 *
 * @module
 */
import type {
  CloseWatchesOptions,
  DelayOptions,
  FailOptions,
  FaultHandle,
  Faults,
  RequestMatch,
  Verb,
} from "./faults.ts";
import { ApiStatusError, reasonForCode } from "./_status.ts";
import type { Store } from "./_store.ts";
import type { WatchHub } from "./_watch.ts";

/** A request as faults see it. */
export interface RequestInfo {
  verb: Verb;
  plural: string;
  group: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

interface Rule {
  match: RequestMatch;
  remaining: number;
  hits: number;
  fail?: FailOptions;
  delayMs?: number;
}

function matches(match: RequestMatch, req: RequestInfo): boolean {
  if (match.verb !== undefined) {
    const verbs = Array.isArray(match.verb) ? match.verb : [match.verb];
    if (!verbs.includes(req.verb)) return false;
  }
  if (match.resource !== undefined) {
    const [resource, sub] = match.resource.split("/", 2);
    const names = [
      req.plural,
      req.group ? `${req.plural}.${req.group}` : req.plural,
    ];
    if (!names.includes(resource)) return false;
    if (sub !== undefined && sub !== req.subresource) return false;
  }
  if (match.namespace !== undefined && match.namespace !== req.namespace) {
    return false;
  }
  if (match.name !== undefined && match.name !== req.name) return false;
  return true;
}

function handle(rules: Rule[], rule: Rule): FaultHandle {
  return {
    get hits() {
      return rule.hits;
    },
    get remaining() {
      return rule.remaining;
    },
    cancel() {
      const i = rules.indexOf(rule);
      if (i >= 0) rules.splice(i, 1);
    },
  };
}

/** Implements {@link Faults} over the store and the watch hub. */
export class FaultInjector implements Faults {
  #failures: Rule[] = [];
  #delays: Rule[] = [];
  #store: Store;
  #hub: WatchHub;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(store: Store, hub: WatchHub) {
    this.#store = store;
    this.#hub = hub;
  }

  failNext(options: FailOptions): FaultHandle {
    if (
      !Number.isInteger(options.status) || options.status < 400 ||
      options.status > 599
    ) {
      throw new RangeError(
        `Expected an HTTP error status between 400 and 599, found ${options.status}`,
      );
    }
    const rule: Rule = {
      match: options,
      remaining: options.count ?? 1,
      hits: 0,
      fail: options,
    };
    this.#failures.push(rule);
    return handle(this.#failures, rule);
  }

  delay(options: DelayOptions): FaultHandle {
    if (!(options.ms >= 0)) {
      throw new RangeError(
        `Expected a delay of 0 ms or more, found ${options.ms}`,
      );
    }
    const rule: Rule = {
      match: options,
      remaining: options.count ?? Infinity,
      hits: 0,
      delayMs: options.ms,
    };
    this.#delays.push(rule);
    return handle(this.#delays, rule);
  }

  closeWatches(options: CloseWatchesOptions = {}): number {
    const error = options.error
      ? new ApiStatusError(options.error.code, {
        reason: options.error.reason ?? reasonForCode(options.error.code),
        message: options.error.message ??
          (options.error.code === 410
            ? `too old resource version: ${this.#store.compactedRv} (${this.#store.rv})`
            : "the watch was closed by fault injection"),
      }).toStatus()
      : undefined;
    return this.#hub.close(
      { resource: options.resource, namespace: options.namespace },
      { error, abort: options.abort },
    );
  }

  compact(options: { resourceVersion?: number } = {}): void {
    this.#store.compact(options.resourceVersion ?? this.#store.rv);
  }

  pause(): void {
    if (this.#gate) return;
    this.#gate = new Promise((resolve) => (this.#open = resolve));
    this.#hub.pause();
  }

  resume(): void {
    if (!this.#gate) return;
    this.#open?.();
    this.#gate = undefined;
    this.#open = undefined;
    this.#hub.resume();
  }

  get paused(): boolean {
    return this.#gate !== undefined;
  }

  clear(): void {
    this.#failures.length = 0;
    this.#delays.length = 0;
    this.resume();
  }

  /** Waits while paused; resolves at once otherwise. */
  async gate(): Promise<void> {
    while (this.#gate) await this.#gate;
  }

  /** The latency to add to a request, consuming one use of each matching rule. */
  delayFor(req: RequestInfo): number {
    let total = 0;
    for (const rule of [...this.#delays]) {
      if (rule.remaining <= 0 || !matches(rule.match, req)) continue;
      rule.remaining--;
      rule.hits++;
      total += rule.delayMs ?? 0;
      if (rule.remaining <= 0) {
        this.#delays.splice(this.#delays.indexOf(rule), 1);
      }
    }
    return total;
  }

  /** The injected failure for a request, if one matches (consuming it). */
  failureFor(req: RequestInfo): ApiStatusError | undefined {
    for (const rule of this.#failures) {
      if (rule.remaining <= 0 || !matches(rule.match, req)) continue;
      rule.remaining--;
      rule.hits++;
      if (rule.remaining <= 0) {
        this.#failures.splice(this.#failures.indexOf(rule), 1);
      }
      const f = rule.fail!;
      const reason = f.reason ?? reasonForCode(f.status);
      return new ApiStatusError(f.status, {
        reason,
        message: f.message ?? `injected failure: ${reason}`,
        details: f.retryAfterSeconds !== undefined
          ? { retryAfterSeconds: f.retryAfterSeconds }
          : undefined,
      });
    }
    return undefined;
  }
}
