/**
 * `deno run bench/cache_copy.ts [objects]`: what it costs to keep
 * reconcilers from changing the cache, per object of about 2 KB (a
 * Deployment-like object with managed fields): deep-freezing it once as it
 * enters the cache (what the Reflector does), freezing it again (free: it
 * is already frozen), and a `structuredClone` per reconcile (what
 * controller-runtime's deep copy amounts to). Prints microseconds per
 * object; compare within a run.
 *
 * @module
 */
import { deepFreeze } from "../controller/_freeze.ts";

function deployment(i: number): unknown {
  const containers = [{
    name: "web",
    image: "nginx:1.27",
    ports: [{ containerPort: 80 }],
    env: Array.from(
      { length: 10 },
      (_, k) => ({ name: `E${k}`, value: `v${k}` }),
    ),
    resources: { limits: { cpu: "1", memory: "1Gi" } },
  }];
  return JSON.parse(JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `web-${i}`,
      namespace: "default",
      uid: crypto.randomUUID(),
      resourceVersion: String(i),
      generation: 3,
      labels: { app: "web", tier: "frontend", "app.kubernetes.io/name": "web" },
      annotations: { note: "x".repeat(200) },
      managedFields: Array.from({ length: 3 }, (_, j) => ({
        manager: `manager-${j}`,
        operation: "Update",
        apiVersion: "apps/v1",
        time: "2024-01-01T00:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { "f:replicas": {}, "f:template": {} } },
      })),
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
    },
    status: { replicas: 3, readyReplicas: 3 },
  }));
}

const count = Number(Deno.args[0] ?? 20_000);
const objects = Array.from({ length: count }, (_, i) => deployment(i));
const bytes = JSON.stringify(objects[0]).length;
function time(label: string, each: (o: unknown) => unknown): void {
  const started = performance.now();
  for (const o of objects) each(o);
  const micros = (performance.now() - started) * 1000 / count;
  console.log(`${label.padEnd(34)} ${micros.toFixed(2)} µs/object`);
}
console.log(`${count} objects of ${bytes} bytes (JSON)`);
time("structuredClone (per reconcile)", (o) => structuredClone(o));
time("deepFreeze (once, on insert)", deepFreeze);
time("deepFreeze of a frozen object", deepFreeze);
