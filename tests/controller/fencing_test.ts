import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { Controller } from "../../controller/controller.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import { ReconcileResult } from "../../controller/reconciler.ts";
import { FencedError } from "../../client/errors.ts";
import { KubeClient } from "../../client/kube_client.ts";
import { ManualClock } from "../../common/clock.ts";
import {
  ensureNamespace,
  type Harness,
  startServer,
  type Widget,
  widgets,
} from "./_server.ts";
import { until } from "./_helpers.ts";

describe("fencing at send time against the test API server", () => {
  let h: Harness;
  before(async () => {
    h = await startServer();
  });
  after(async () => {
    await h.stop();
  });

  it("sends no write once the lease expired between the reconcile's decision and the send, though no timer noticed yet", async () => {
    const ns = "lease-stall";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "w", namespace: ns },
      spec: { size: 1 },
    });
    // The lease is measured on this clock; the election's own expiry timer
    // is a real 100 ms timer that finds the lease still valid on it, so
    // only the clock jump below ends leadership, as a 150 ms event-loop
    // stall would before any timer runs.
    let now = 0;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => now,
    });
    election.setRole("leader", 1);
    election.renewLease(100);
    const patches = h.server.faults.delay({
      verb: "patch",
      resource: "widgets",
      namespace: ns,
      ms: 0,
    });
    const outcomes: unknown[] = [];
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      clock: new ManualClock(),
    });
    const done = controller.run({
      async reconcile(_widget, ctx) {
        if (outcomes.length > 0) return ReconcileResult.done();
        assert.equal(ctx.guard.isLeader(), true, "decided while leading");
        now += 150; // the stall: the lease ended 50 ms ago
        try {
          await ctx.client.patch(widgets, "w", {
            metadata: { labels: { written: "late" } },
          }, { namespace: ns });
          outcomes.push("sent");
        } catch (error) {
          outcomes.push(error);
        }
        return ReconcileResult.done();
      },
    }, { signal: stop.signal });
    try {
      await until(() => outcomes.length === 1);
      assert.ok(
        outcomes[0] instanceof FencedError,
        `expected a FencedError, found ${outcomes[0]}`,
      );
      assert.equal(patches.hits, 0, "no PATCH reached the server");
      const w = await h.client.get<Widget>(widgets, "w", { namespace: ns });
      assert.equal(w.metadata.labels?.written, undefined);
    } finally {
      stop.abort();
      election.setRole("follower", 1);
      await done;
    }
  });

  it("starts no reconcile once the lease ran out, though no timer noticed yet, and reconciles the key once leading again", async () => {
    const ns = "lease-stall-start";
    await ensureNamespace(h.client, ns);
    for (const name of ["a", "b"]) {
      await h.client.create<Widget>(widgets, {
        metadata: { name, namespace: ns },
        spec: { size: 1 },
      });
    }
    // As above: only the jump of this clock ends the lease, as an
    // event-loop stall would before the election's expiry timer runs.
    let now = 0;
    const election = new LeaderElection(0, {
      requireLease: true,
      now: () => now,
    });
    election.setRole("leader", 1);
    election.renewLease(100);
    const calls: { key: string; leading: boolean }[] = [];
    const ended: number[] = [];
    const stop = new AbortController();
    const controller = Controller.for<Widget>(widgets, {
      client: h.client,
      guard: election.guard(),
      namespace: ns,
      clock: new ManualClock(),
      concurrency: 1,
      observer: {
        leadership: ({ leading, term }) => {
          if (!leading) ended.push(term);
        },
      },
    });
    const done = controller.run({
      reconcile(_widget, ctx) {
        calls.push({ key: ctx.key, leading: ctx.guard.isLeader() });
        // The first reconcile ends in a stall: the lease ran out 50 ms
        // ago when the worker takes the next key.
        if (calls.length === 1) now += 150;
        return Promise.resolve(ReconcileResult.done());
      },
    }, { signal: stop.signal });
    try {
      // The worker either starts the next key (the bug) or notices the
      // lease is gone and the controller stops leading.
      await until(() => calls.length >= 2 || ended.length > 0);
      assert.deepEqual(
        calls.filter((c) => !c.leading),
        [],
        "a reconcile started without the lease",
      );
      // Leading again (a new lease): every cached key is queued.
      election.renewLease(100);
      const second = calls[0].key === `${ns}/a` ? `${ns}/b` : `${ns}/a`;
      await until(() => calls.some((c) => c.key === second));
      assert.deepEqual(calls.filter((c) => !c.leading), []);
    } finally {
      stop.abort();
      election.setRole("follower", 1);
      await done;
    }
  });

  it("checks the fence after the credential refresh of a kubeconfig client, right before undici takes the request", async () => {
    const ns = "lease-refresh";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "w", namespace: ns },
      spec: { size: 1 },
    });
    const kubeConfig = h.server.kubeConfig() as KubeConfig;
    let leading = true;
    const original = kubeConfig.applyToHTTPSOptions.bind(kubeConfig);
    let refreshes = 0;
    kubeConfig.applyToHTTPSOptions = async (options) => {
      await original(options);
      refreshes++;
      if (refreshes === 2) leading = false; // the lease ends meanwhile
    };
    const clock = new ManualClock();
    const client = KubeClient.fromKubeConfig(kubeConfig, { clock });
    const fenced = client.fenced(new AbortController().signal, {
      check: () => {
        if (!leading) throw new Error("lease expired");
      },
    });
    const patches = h.server.faults.delay({
      verb: "patch",
      resource: "widgets",
      namespace: ns,
      ms: 0,
    });
    await fenced.patch(widgets, "w", { metadata: { labels: { n: "1" } } }, {
      namespace: ns,
    });
    assert.equal(patches.hits, 1);
    clock.advance(10_000); // credentials are read again before the next one
    await assert.rejects(
      fenced.patch(widgets, "w", { metadata: { labels: { n: "2" } } }, {
        namespace: ns,
      }),
      FencedError,
    );
    assert.equal(refreshes, 2);
    assert.equal(patches.hits, 1, "the second PATCH never left");
  });

  it("sends no write once the lease runs out between the last check and undici writing it to a fresh connection", async () => {
    const ns = "lease-handshake";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "w", namespace: ns },
      spec: { size: 1 },
    });
    // A client with no connection yet: undici writes the request only
    // after the TLS handshake, several event-loop turns after fetch().
    const client = KubeClient.fromKubeConfig(h.server.kubeConfig());
    let checks = 0;
    let leading = true;
    const fenced = client.fenced(new AbortController().signal, {
      check: () => {
        checks++;
        // The client checks when the request starts, before the
        // transport, and (after reading the kubeconfig's credentials for
        // its first request) right before undici takes it: the lease ends
        // just after that third check, before the handshake completes.
        if (checks === 3) queueMicrotask(() => leading = false);
        if (!leading) throw new Error("lease expired");
      },
    });
    const patches = h.server.faults.delay({
      verb: "patch",
      resource: "widgets",
      namespace: ns,
      ms: 0,
    });
    await assert.rejects(
      fenced.patch(widgets, "w", { metadata: { labels: { n: "1" } } }, {
        namespace: ns,
      }),
      FencedError,
    );
    assert.ok(checks >= 4, `checked ${checks} times`);
    assert.equal(patches.hits, 0, "the PATCH never left");
    // The connection is fine for the next request once leading again.
    leading = true;
    checks = 10;
    await fenced.patch(widgets, "w", { metadata: { labels: { n: "2" } } }, {
      namespace: ns,
    });
    assert.equal(patches.hits, 1);
  });

  it("fails a write cleanly when the check at write time ends leadership itself (aborting the fence), on a warm connection", async () => {
    const ns = "lease-warm";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "w", namespace: ns },
      spec: { size: 1 },
    });
    const client = KubeClient.fromKubeConfig(h.server.kubeConfig());
    const leadership = new AbortController();
    let armed = false;
    const fenced = client.fenced(leadership.signal, {
      check: () => {
        // As guard.check() does when it finds the lease run out: end
        // leadership (abort the fence, so the request's own signal) on the
        // spot, then throw.
        if (armed && new Error().stack?.includes("onRequestStart")) {
          leadership.abort(new Error("lease expired"));
          throw new Error("lease expired");
        }
      },
    });
    await fenced.get(widgets, "w", { namespace: ns }); // warms a connection
    const deletes = h.server.faults.delay({
      verb: "delete",
      resource: "widgets",
      namespace: ns,
      ms: 0,
    });
    armed = true;
    await assert.rejects(
      fenced.delete(widgets, "w", { namespace: ns }),
      FencedError,
    );
    assert.equal(deletes.hits, 0, "the DELETE never left");
    await h.client.get(widgets, "w", { namespace: ns });
  });

  it("fails a write, and the process lives on, when leadership ends inside fetch() (a subclass's dispatcher interceptor asking the guard)", async () => {
    const ns = "lease-in-fetch";
    await ensureNamespace(h.client, ns);
    await h.client.create<Widget>(widgets, {
      metadata: { name: "w", namespace: ns },
      spec: { size: 1 },
    });
    // As a replica that records each write with guard.isLeader() does
    // (tests/netns/_replica_deno.ts): asking the guard when the lease has
    // run out ends leadership on the spot, so the fence, so the request's
    // signal aborts while undici's fetch() is still running. undici
    // asserts then, from an abort listener: an uncaught exception, and the
    // replica died (seen in partition_deno_test.ts under load).
    const leadership = new AbortController();
    let armed = false;
    type Context = Parameters<KubeConfig["applySecurityAuthentication"]>[0];
    class Asking extends KubeConfig {
      override async applySecurityAuthentication(
        context: Context,
      ): Promise<void> {
        await super.applySecurityAuthentication(context);
        const inner = context.getDispatcher()!;
        context.setDispatcher(
          inner.compose((dispatch) => (options, handler) => {
            if (armed && options.method === "DELETE") {
              leadership.abort(new Error("lease expired"));
            }
            return dispatch(options, handler);
          }) as unknown as typeof inner,
        );
      }
    }
    const kubeConfig = new Asking();
    kubeConfig.loadFromString(
      (h.server.kubeConfig() as KubeConfig).exportConfig(),
    );
    const fenced = KubeClient.fromKubeConfig(kubeConfig).fenced(
      leadership.signal,
    );
    await fenced.get(widgets, "w", { namespace: ns }); // warms a connection
    const deletes = h.server.faults.delay({
      verb: "delete",
      resource: "widgets",
      namespace: ns,
      ms: 0,
    });
    armed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Only bounds the wait: before the fix the DELETE never settled (and a
    // process of its own died of the uncaught assertion).
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("still pending after 10 s"), 10_000);
    });
    const outcome = await Promise.race([
      fenced.delete(widgets, "w", { namespace: ns }).then(
        () => "sent",
        (error) => error,
      ),
      late,
    ]);
    clearTimeout(timer);
    assert.equal(outcome, leadership.signal.reason, "failed with the reason");
    assert.equal(deletes.hits, 0, "the DELETE never left");
    await h.client.get(widgets, "w", { namespace: ns });
  });
});
