/**
 * The controller benchmark's baselines (see `_controller_side.ts`), written
 * the way client-node 2.0.1 documents, with the same reconciler as ours:
 * write `status.observedGeneration` through the status subresource (a merge
 * patch) when it differs from `metadata.generation`.
 *
 * - `BENCH_SIDE=documented`: `makeInformer` feeding a keyed,
 *   de-duplicating queue (`_keyed_queue.ts`, client-go's workqueue: a key
 *   is never processed by two workers at once and is queued again when it
 *   changed meanwhile), `BENCH_CONCURRENCY` workers, the latest object read
 *   from the informer's cache when a worker takes the key, and the writes
 *   through the generated `CustomObjectsApi` from `kc.makeApiClient`, with
 *   the content type set by `setHeaderOptions("Content-Type",
 *   PatchStrategy.MergePatch)` as client-node's examples do. client-node
 *   builds a new undici `Agent` (so a new TLS connection) per request.
 * - `pooled`: the same, plus one configuration option: a middleware that
 *   keeps the first `Agent` client-node built and hands it to every later
 *   request, so writes reuse keep-alive connections (the only difference
 *   from `documented`).
 * - `naive`: the loop users write first: `makeInformer` events pushed on an
 *   array and one sequential loop patching the object from the event (no
 *   de-duplication, no cache read, one request at a time).
 *
 * @module
 */
import {
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { KeyedQueue } from "./_keyed_queue.ts";
import { runSide, type Side, type SideInit } from "./_controller_side.ts";

interface Widget extends KubernetesObject {
  spec: { size: number };
  status?: { observedGeneration?: number };
}

const group = "example.com";
const version = "v1";
const plural = "widgets";

/** One shared dispatcher for every request (the `pooled` row). */
function pooling(): ObservableMiddleware {
  let shared: unknown;
  return {
    pre(context) {
      shared ??= context.getDispatcher();
      context.setDispatcher(shared as never);
      return new Observable(Promise.resolve(context));
    },
    post(response) {
      return new Observable(Promise.resolve(response));
    },
  };
}

function clientNode(init: SideInit): Side {
  const { tally, namespace } = init;
  const kc = new KubeConfig();
  kc.loadFromFile(init.kubeconfig);
  const api = kc.makeApiClient(CustomObjectsApi);
  const writeOptions = setHeaderOptions(
    "Content-Type",
    PatchStrategy.MergePatch,
    init.side === "pooled"
      ? { middleware: [pooling()], middlewareMergeStrategy: "append" }
      : undefined,
  );
  const informer = makeInformer<Widget>(
    kc,
    `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
    () => api.listNamespacedCustomObject({ group, version, namespace, plural }),
  );

  /** The reconciler: the same logic and writes as ours. */
  const reconcile = async (widget: Widget) => {
    tally.calls++;
    const generation = widget.metadata!.generation;
    if (widget.status?.observedGeneration === generation) return;
    await api.patchNamespacedCustomObjectStatus({
      group,
      version,
      namespace,
      plural,
      name: widget.metadata!.name!,
      body: { status: { observedGeneration: generation } },
    }, writeOptions);
    tally.writes++;
    tally.wrote(widget.metadata!.name!, generation ?? 0);
  };

  const cached = (generation: number) => {
    let n = 0;
    for (let i = 0; i < init.changes; i++) {
      const w = informer.get(`w-${i}`, namespace);
      if ((w?.metadata?.generation ?? 0) >= generation) n++;
    }
    return n;
  };

  if (init.side === "naive") {
    const pending: Widget[] = [];
    let wake = () => {};
    let running = true;
    let holding = false;
    let busy = false;
    let loop: Promise<void> = Promise.resolve();
    const enqueue = (w: Widget) => {
      pending.push(w);
      wake();
    };
    informer.on("add", enqueue);
    informer.on("update", enqueue);
    return {
      async start() {
        await informer.start();
        loop = (async () => {
          while (running) {
            const w = holding ? undefined : pending.shift();
            if (!w) {
              await new Promise<void>((resolve) => wake = resolve);
              continue;
            }
            busy = true;
            try {
              await reconcile(w);
            } catch {
              pending.push(w);
            } finally {
              busy = false;
            }
          }
        })();
      },
      async hold() {
        holding = true;
        while (busy) await new Promise((r) => setTimeout(r, 5));
      },
      resume() {
        holding = false;
        wake();
      },
      cached,
      async stop() {
        running = false;
        wake();
        await loop;
        await informer.stop();
      },
    };
  }

  const queue = new KeyedQueue();
  const key = (w: Widget) => `${w.metadata!.namespace}/${w.metadata!.name}`;
  informer.on("add", (w) => queue.add(key(w)));
  informer.on("update", (w) => queue.add(key(w)));
  let gate: PromiseWithResolvers<void> | null = null;
  let active = 0;
  const workers: Promise<void>[] = [];
  const work = async () => {
    while (true) {
      const k = await queue.get();
      if (k === undefined) return;
      while (gate) await gate.promise;
      active++;
      try {
        const [ns, name] = k.split("/");
        const latest = informer.get(name, ns);
        if (latest) await reconcile(latest);
      } catch {
        setTimeout(() => queue.add(k), 1_000);
      } finally {
        active--;
        queue.done(k);
      }
    }
  };
  return {
    async start() {
      await informer.start();
      for (let i = 0; i < init.concurrency; i++) workers.push(work());
    },
    async hold() {
      gate = Promise.withResolvers<void>();
      while (active > 0) await new Promise((r) => setTimeout(r, 5));
    },
    resume() {
      gate?.resolve();
      gate = null;
    },
    cached,
    async stop() {
      queue.shutDown();
      this.resume();
      await Promise.all(workers);
      await informer.stop();
    },
  };
}

await runSide(clientNode);
