import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiException, CoordinationV1Api } from "@kubernetes/client-node";
import { microTime } from "../../bench/_lease_elector.ts";
import {
  ClientLeaseLock,
  LeaseNotInitializedError,
} from "../../bench/_lease_lock.ts";
import { TestApiServer } from "../../testing/mod.ts";

const record = (holder: string, transitions = 0) => ({
  holderIdentity: holder,
  leaseDurationSeconds: 15,
  acquireTime: microTime(Date.UTC(2026, 0, 1)),
  renewTime: microTime(Date.UTC(2026, 0, 1, 0, 0, 1)),
  leaseTransitions: transitions,
});

describe("Lease baseline lock over client-node", () => {
  let server: TestApiServer;
  let api: CoordinationV1Api;
  const lock = (identity: string) =>
    new ClientLeaseLock({ api, namespace: "default", name: "l", identity });

  before(async () => {
    server = await TestApiServer.start({ bookmarkIntervalMs: 0 });
    api = server.kubeConfig().makeApiClient(CoordinationV1Api);
  });
  after(async () => {
    await server.stop();
  });

  it("reads a missing Lease as null, creates it, and reads the record back", async () => {
    const a = lock("a");
    assert.equal(await a.get(), null);
    await a.create(record("a"));
    const seen = await lock("b").get();
    assert.deepEqual(seen?.record, record("a"));
    assert.equal(seen?.raw, JSON.stringify(record("a")));
  });

  it("updates with the resourceVersion it last saw, so a stale writer gets 409", async () => {
    const b = lock("b");
    const c = lock("c");
    await b.get();
    await c.get();
    await b.update(record("b", 1));
    await assert.rejects(
      c.update(record("c", 1)),
      (error) => error instanceof ApiException && error.code === 409,
    );
    assert.equal((await c.get())?.record.holderIdentity, "b");
    await c.update(record("c", 2));
    assert.equal((await b.get())?.record.holderIdentity, "c");
  });

  it("refuses an update before any read, as client-go does", async () => {
    await assert.rejects(
      lock("d").update(record("d")),
      LeaseNotInitializedError,
    );
  });
});
