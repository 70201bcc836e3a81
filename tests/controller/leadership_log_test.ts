import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { Controller } from "../../controller/controller.ts";
import { KubeClient } from "../../client/kube_client.ts";
import type { KubeObject } from "../../client/objects.ts";
import { LeaderElection } from "../../controller/leader_election.ts";
import type { LogFields, Logger } from "../../common/log.ts";
import { ReconcileResult } from "../../controller/reconciler.ts";
import { freeLoopbackPorts } from "../../testing/mod.ts";
import { until } from "./_helpers.ts";
import { configMaps } from "../../testing/resource_types.ts";

describe("the controller's leadership log", () => {
  it("logs each start and end of leading once, also while the API server is unreachable", async () => {
    // A port nothing listens on: the cache never syncs.
    const [port] = await freeLoopbackPorts(1);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "c", server: `http://127.0.0.1:${port}` }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const lines: { message: string; fields?: LogFields }[] = [];
    const record = (message: string, fields?: LogFields) =>
      lines.push({ message, fields });
    const logger: Logger = {
      info: record,
      warn: () => {},
      error: () => {},
    };
    const events: { leading: boolean; term: number }[] = [];
    const election = new LeaderElection(0);
    const controller = Controller.for<KubeObject>(configMaps, {
      client: KubeClient.fromKubeConfig(kubeConfig),
      guard: election.guard(),
      logger,
      observer: { leadership: (event) => events.push(event) },
    });
    const stop = new AbortController();
    const done = controller.run({
      reconcile: () => Promise.resolve(ReconcileResult.done()),
    }, { signal: stop.signal });
    const leading = () =>
      lines.filter((l) => /leading/.test(l.message)).map((l) =>
        `${l.message} ${l.fields?.term}`
      );
    const waitFor = (count: number) =>
      until(() => leading().length >= count, {
        message: `${count} leadership lines`,
      });
    try {
      // Leadership that lapses and returns within one term (a failed
      // handover, a lease that lapsed), twice, with the cache never synced.
      election.setRole("leader", 1);
      await waitFor(1);
      election.setRole("follower", 1);
      await waitFor(2);
      election.setRole("leader", 1);
      await waitFor(3);
      election.setRole("follower", 2);
      await waitFor(4);
    } finally {
      stop.abort();
      await done;
    }
    assert.deepEqual(leading(), [
      "leading, starting reconciles 1",
      "stopped leading, reconciles cancelled 1",
      "leading, starting reconciles 1",
      "stopped leading, reconciles cancelled 1",
    ]);
    assert.deepEqual(events, [
      { leading: true, term: 1 },
      { leading: false, term: 1 },
      { leading: true, term: 1 },
      { leading: false, term: 1 },
    ]);
  });
});
