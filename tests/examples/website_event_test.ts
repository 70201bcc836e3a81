/**
 * The Website example's `Applied` event survives leadership ending in the
 * middle of a reconcile. It is recorded once per generation, the first
 * time a reconcile sees the generation not yet observed; recording never
 * rejects (a refused write is logged and dropped). Written after the
 * status, an event refused because the lease ended right after the status
 * write was lost for good: the next reconcile found the generation
 * observed (seen as "an Applied event" never coming in website_test.ts on
 * a loaded machine). The reconciler runs here by hand against the
 * in-process API server, with a fenced client whose lease ends when the
 * server receives a chosen write.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EventRecorder,
  type KubeObject,
  LeaderElection,
  silentLogger,
} from "../../controller/mod.ts";
import { KubeClient } from "../../client/kube_client.ts";
import type { Context } from "../../controller/reconciler.ts";
import { TestApiServer } from "../../testing/mod.ts";
import { Website } from "../../examples/resources.ts";
import { websiteReconciler, websites } from "../../examples/website.ts";

interface Event extends KubeObject {
  reason: string;
  count?: number;
  involvedObject: { name: string };
}

const events = {
  group: "",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};

describe("the Website example's Applied event when leadership ends mid-reconcile", () => {
  let server: TestApiServer;
  let client: KubeClient;
  /** Ends the lease when the server receives a request this matches. */
  let endLeaseOn: ((method: string, path: string) => boolean) | null = null;
  let leading = true;

  before(async () => {
    server = await TestApiServer.start({
      onRequest: ({ method, path }) => {
        if (endLeaseOn?.(method, path)) {
          leading = false;
          endLeaseOn = null;
        }
      },
    });
    client = KubeClient.fromKubeConfig(server.kubeConfig());
    await Website.install(server.kubeConfig(), { fieldManager: "test" });
  });

  after(async () => {
    await server?.stop();
  });

  /** One reconcile of Website `name` as the leader of term 1 would run it. */
  async function reconcileOnce(name: string): Promise<unknown> {
    const election = new LeaderElection(0);
    election.setRole("leader", 1);
    const leadership = new AbortController();
    const fenced = client.fenced(leadership.signal, {
      check: () => {
        if (!leading) throw new Error("the lease ran out");
      },
    });
    const ctx: Context = {
      client: fenced,
      recorder: new EventRecorder(fenced, "website-operator", {
        logger: silentLogger,
      }),
      signal: leadership.signal,
      guard: election.guard(),
      term: 1,
      key: `default/${name}`,
    };
    const site = await client.get<Website>(websites, name, {
      namespace: "default",
    });
    try {
      await websiteReconciler.reconcile(site, ctx);
      return "done";
    } catch (error) {
      return error;
    }
  }

  async function applied(name: string): Promise<Event[]> {
    const list = await client.list<Event>(events, { namespace: "default" });
    return list.items.filter((e) =>
      e.involvedObject.name === name && e.reason === "Applied"
    );
  }

  for (
    const [when, matches] of [
      [
        "right after the status write",
        (method: string, path: string) =>
          method === "PATCH" && path.includes("/websites/") &&
          path.includes("/status"),
      ],
      [
        "right after the event write",
        (method: string, path: string) =>
          method === "POST" && path.includes("/events"),
      ],
    ] as const
  ) {
    it(`is recorded when the lease ends ${when}, once the leader reconciles again`, async () => {
      const name = when.includes("status") ? "after-status" : "after-event";
      await client.create(
        websites,
        Website.build({
          metadata: { name, namespace: "default" },
          spec: {
            domain: `${name}.example.com`,
            image: "nginx:1",
            replicas: 1,
          },
        }),
      );
      leading = true;
      endLeaseOn = matches;
      await reconcileOnce(name);
      assert.equal(endLeaseOn, null, `the lease ended ${when}`);
      // Leading again (a new lease): the controller reconciles the key
      // again, as it does every cached key when leadership starts.
      leading = true;
      assert.equal(await reconcileOnce(name), "done");
      const site = await client.get<Website>(websites, name, {
        namespace: "default",
      });
      assert.equal(site.status?.observedGeneration, 1);
      assert.ok((await applied(name)).length > 0, "an Applied event");
    });
  }
});
