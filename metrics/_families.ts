/**
 * Metric families shared by every instrument attached to one registry:
 * prom-client refuses a second metric of the same name, so the first
 * instrument creates the family and the others reuse it with their own
 * labels. Gauges read at scrape time keep a set of sources, one per
 * instrument.
 *
 * @module
 */
import { Gauge, type Registry } from "prom-client";
import type { MetricsRegistry } from "./registry.ts";

const proms = new WeakMap<MetricsRegistry, Registry>();

/** Called once by the registry's constructor. */
export function bindProm(registry: MetricsRegistry, prom: Registry): void {
  proms.set(registry, prom);
}

/** The prom-client registry underneath `registry`. */
export function promOf(registry: MetricsRegistry): Registry {
  return proms.get(registry)!;
}

/** A gauge whose value is `read()` at each collection (each scrape). */
export function collectedGauge(
  registers: Registry[],
  metric: { name: string; help: string; read: () => number },
): Gauge {
  return new Gauge({
    name: metric.name,
    help: metric.help,
    registers,
    collect() {
      this.set(metric.read());
    },
  });
}

const families = new WeakMap<MetricsRegistry, Map<string, unknown>>();

/** The family `name` of `registry`, created by `create` the first time. */
export function family<M>(
  registry: MetricsRegistry,
  name: string,
  create: () => M,
): M {
  let byName = families.get(registry);
  if (byName === undefined) {
    byName = new Map();
    families.set(registry, byName);
  }
  let found = byName.get(name) as M | undefined;
  if (found === undefined) {
    found = create();
    byName.set(name, found);
  }
  return found;
}

/** Exponential histogram buckets: `count` bounds from `start`, times `factor`. */
export function exponentialBuckets(
  start: number,
  factor: number,
  count: number,
): number[] {
  return Array.from(
    { length: count },
    (_, i) => Number((start * factor ** i).toPrecision(12)),
  );
}
