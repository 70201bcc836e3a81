import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  mergeConditions,
  StatusCondition,
  StatusPatch,
} from "../../controller/status.ts";
import type { ResourceType } from "../../client/objects.ts";
import { recordingClient } from "./_helpers.ts";

const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const t0 = new Date("2024-01-01T00:00:00Z");
const t1 = new Date("2024-01-01T01:00:00Z");

describe("StatusCondition", () => {
  it("builds Ready and Available with reason, message and generation", () => {
    const c = StatusCondition.ready(false).withReason("Waiting")
      .withMessage("volume pending").withGeneration(4);
    assert.deepEqual(c.toCondition(undefined, t0), {
      type: "Ready",
      status: "False",
      reason: "Waiting",
      message: "volume pending",
      lastTransitionTime: "2024-01-01T00:00:00Z",
      observedGeneration: 4,
    });
    const a = StatusCondition.available(true).toCondition(undefined, t0);
    assert.equal(a.type, "Available");
    assert.equal(a.status, "True");
    assert.equal(a.reason, "Available");
  });

  it("keeps lastTransitionTime when the status does not change", () => {
    const first = mergeConditions([], StatusCondition.ready(true), t0);
    const again = mergeConditions(
      first,
      StatusCondition.ready(true).withMessage("still fine"),
      t1,
    );
    assert.equal(again[0]!.lastTransitionTime, "2024-01-01T00:00:00Z");
    assert.equal(again[0]!.message, "still fine");
    const flipped = mergeConditions(again, StatusCondition.ready(false), t1);
    assert.equal(flipped[0]!.lastTransitionTime, "2024-01-01T01:00:00Z");
  });

  it("rejects a condition type that is not CamelCase", () => {
    assert.throws(() => new StatusCondition("not ready!", "True"), TypeError);
  });
});

describe("StatusPatch", () => {
  it("merge-patches the namespaced status subresource with observedGeneration", async () => {
    const { client, requests } = recordingClient((r) => ({
      status: 200,
      body: {
        metadata: { name: "w" },
        status: (r.body as { status: unknown }).status,
      },
    }));
    const obj = {
      metadata: { name: "w", namespace: "ns1", generation: 7 },
      status: { replicas: 1 },
    };
    await new StatusPatch(obj, { client, resource: widgets, now: () => t0 })
      .set("replicas", 3)
      .condition(StatusCondition.ready(true))
      .observedGeneration()
      .apply();
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.method, "PATCH");
    assert.equal(
      requests[0]!.path,
      "/apis/example.com/v1/namespaces/ns1/widgets/w/status",
    );
    assert.equal(requests[0]!.contentType, "application/merge-patch+json");
    assert.deepEqual(requests[0]!.body, {
      status: {
        replicas: 3,
        observedGeneration: 7,
        conditions: [{
          type: "Ready",
          status: "True",
          reason: "Ready",
          message: "",
          lastTransitionTime: "2024-01-01T00:00:00Z",
        }],
      },
    });
  });

  it("sends nothing when nothing changed", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 500,
      body: {},
    }));
    const obj = {
      metadata: { name: "w", namespace: "ns1", generation: 2 },
      status: {
        observedGeneration: 2,
        nested: { a: 1 },
        conditions: [
          StatusCondition.ready(true).withReason("Ok").toCondition(
            undefined,
            t0,
          ),
        ],
      },
    };
    const result = await new StatusPatch(obj, {
      client,
      resource: widgets,
      now: () => t1,
    })
      .set("nested.a", 1)
      .condition(StatusCondition.ready(true).withReason("Ok"))
      .observedGeneration()
      .apply();
    assert.equal(result, null);
    assert.equal(requests.length, 0);
  });

  it("guards the write with the resourceVersion it was computed from, and on 409 re-reads and recomputes", async () => {
    const fresh = {
      metadata: { name: "w", namespace: "ns1", resourceVersion: "8" },
      status: {
        conditions: [
          new StatusCondition("Theirs", "True").toCondition(undefined, t0),
        ],
      },
    };
    let patches = 0;
    const { client, requests } = recordingClient((r) => {
      if (r.method === "GET") return { status: 200, body: fresh };
      patches++;
      return patches === 1
        ? { status: 409, body: { kind: "Status", reason: "Conflict" } }
        : {
          status: 200,
          body: { ...fresh, status: (r.body as { status: unknown }).status },
        };
    });
    const stale = {
      metadata: { name: "w", namespace: "ns1", resourceVersion: "7" },
      status: {},
    };
    await new StatusPatch(stale, { client, resource: widgets, now: () => t0 })
      .condition(StatusCondition.ready(true))
      .apply();
    assert.deepEqual(requests.map((r) => r.method), ["PATCH", "GET", "PATCH"]);
    const first = requests[0]!.body as {
      metadata: { resourceVersion: string };
      status: { conditions: Array<{ type: string }> };
    };
    const second = requests[2]!.body as typeof first;
    assert.equal(first.metadata.resourceVersion, "7");
    assert.deepEqual(first.status.conditions.map((c) => c.type), ["Ready"]);
    assert.equal(second.metadata.resourceVersion, "8");
    assert.deepEqual(second.status.conditions.map((c) => c.type), [
      "Theirs",
      "Ready",
    ]);
  });
});
