import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  addFinalizer,
  addFinalizerPatch,
  hasFinalizer,
  isBeingDeleted,
  removeFinalizer,
  removeFinalizerPatch,
  withFinalizer,
} from "../../controller/finalizers.ts";
import { ReconcileResult } from "../../controller/reconciler.ts";
import type { KubeObject, ResourceType } from "../../client/objects.ts";
import { recordingClient } from "./_helpers.ts";

const widgets: ResourceType = {
  group: "example.com",
  version: "v1",
  plural: "widgets",
  kind: "Widget",
  namespaced: true,
};
const F = "example.com/cleanup";

describe("finalizer patches", () => {
  it("adds with a test of the current list so other finalizers survive", () => {
    const o = { metadata: { finalizers: ["other/x"], resourceVersion: "r" } };
    assert.deepEqual(addFinalizerPatch(o, F), [
      { op: "test", path: "/metadata/finalizers", value: ["other/x"] },
      { op: "add", path: "/metadata/finalizers/-", value: F },
    ]);
    assert.equal(addFinalizerPatch({ metadata: { finalizers: [F] } }, F), null);
  });

  it("adds the first finalizer guarded by the resourceVersion", () => {
    assert.deepEqual(
      addFinalizerPatch({ metadata: { resourceVersion: "abc" } }, F),
      [
        { op: "test", path: "/metadata/resourceVersion", value: "abc" },
        { op: "add", path: "/metadata/finalizers", value: [F] },
      ],
    );
  });

  it("removes by index after testing the index still holds it", () => {
    const o = { metadata: { finalizers: ["a", F, "b"] } };
    assert.deepEqual(removeFinalizerPatch(o, F), [
      { op: "test", path: "/metadata/finalizers/1", value: F },
      { op: "remove", path: "/metadata/finalizers/1" },
    ]);
    assert.equal(removeFinalizerPatch({ metadata: {} }, F), null);
  });

  it("answers hasFinalizer and isBeingDeleted", () => {
    assert.equal(hasFinalizer({ metadata: { finalizers: [F] } }, F), true);
    assert.equal(hasFinalizer({ metadata: {} }, F), false);
    assert.equal(isBeingDeleted({ metadata: {} }), false);
    assert.equal(
      isBeingDeleted({
        metadata: { deletionTimestamp: "2024-01-01T00:00:00Z" },
      }),
      true,
    );
  });
});

describe("addFinalizer / removeFinalizer", () => {
  it("sends a JSON Patch to the namespaced URL and retries after a lost race with a fresh read", async () => {
    let patches = 0;
    const { client, requests } = recordingClient((r) => {
      if (r.method === "PATCH") {
        patches++;
        return patches === 1
          ? { status: 422, body: { reason: "Invalid", message: "test failed" } }
          : {
            status: 200,
            body: { metadata: { name: "w", finalizers: ["late", F] } },
          };
      }
      return {
        status: 200,
        body: {
          metadata: {
            name: "w",
            namespace: "ns",
            finalizers: ["late"],
            resourceVersion: "2",
          },
        },
      };
    });
    const o: KubeObject = {
      metadata: { name: "w", namespace: "ns", resourceVersion: "1" },
    };
    const updated = await addFinalizer(o, {
      client,
      resource: widgets,
      finalizer: F,
    });
    assert.deepEqual(updated.metadata.finalizers, ["late", F]);
    assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`), [
      "PATCH /apis/example.com/v1/namespaces/ns/widgets/w",
      "GET /apis/example.com/v1/namespaces/ns/widgets/w",
      "PATCH /apis/example.com/v1/namespaces/ns/widgets/w",
    ]);
    assert.equal(requests[0]!.contentType, "application/json-patch+json");
    assert.deepEqual(requests[2]!.body, [
      { op: "test", path: "/metadata/finalizers", value: ["late"] },
      { op: "add", path: "/metadata/finalizers/-", value: F },
    ]);
  });

  it("treats an object that is gone after removal as done", async () => {
    const { client } = recordingClient(() => ({
      status: 404,
      body: { reason: "NotFound" },
    }));
    const o = { metadata: { name: "w", namespace: "ns", finalizers: [F] } };
    assert.equal(
      await removeFinalizer(o, { client, resource: widgets, finalizer: F }),
      null,
    );
  });

  it("gives up after the configured attempts and surfaces the conflict", async () => {
    const { client, requests } = recordingClient((r) =>
      r.method === "PATCH" ? { status: 409, body: { reason: "Conflict" } } : {
        status: 200,
        body: {
          metadata: { name: "w", namespace: "ns", resourceVersion: "9" },
        },
      }
    );
    const o = {
      metadata: { name: "w", namespace: "ns", resourceVersion: "1" },
    };
    await assert.rejects(
      addFinalizer(o, { client, resource: widgets, finalizer: F, attempts: 3 }),
      (e: Error) => e.name === "ApiError",
    );
    assert.equal(requests.filter((r) => r.method === "PATCH").length, 3);
  });
});

describe("withFinalizer", () => {
  it("adds the finalizer before apply runs", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: { name: "w", namespace: "ns", finalizers: [F] } },
    }));
    let applied: KubeObject | undefined;
    await withFinalizer({
      metadata: { name: "w", namespace: "ns", resourceVersion: "1" },
    }, {
      client,
      resource: widgets,
      finalizer: F,
      apply: (o) => {
        applied = o;
        return Promise.resolve(ReconcileResult.done());
      },
      cleanup: () => Promise.reject(new Error("not deleting")),
    });
    assert.equal(requests.length, 1);
    assert.deepEqual(applied?.metadata.finalizers, [F]);
  });

  it("keeps the finalizer when cleanup fails and removes it only after cleanup succeeds", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: { name: "w" } },
    }));
    const deleting = {
      metadata: {
        name: "w",
        namespace: "ns",
        finalizers: ["other", F],
        deletionTimestamp: "2024-01-01T00:00:00Z",
      },
    };
    const options = {
      client,
      resource: widgets,
      finalizer: F,
      apply: () => Promise.reject(new Error("must not apply")),
    };
    await assert.rejects(
      withFinalizer(deleting, {
        ...options,
        cleanup: () => Promise.reject(new Error("boom")),
      }),
      /boom/,
    );
    assert.equal(requests.length, 0, "finalizer stays");
    let cleanups = 0;
    await withFinalizer(deleting, {
      ...options,
      cleanup: () => {
        cleanups++;
        return Promise.resolve(ReconcileResult.done());
      },
    });
    assert.equal(cleanups, 1);
    assert.deepEqual(requests[0]!.body, [
      { op: "test", path: "/metadata/finalizers/1", value: F },
      { op: "remove", path: "/metadata/finalizers/1" },
    ]);
  });

  it("keeps the finalizer while cleanup asks to be run again (requeue, requeueAfter) and removes it only once cleanup returns done", async () => {
    const { client, requests } = recordingClient(() => ({
      status: 200,
      body: { metadata: { name: "w" } },
    }));
    const deleting = {
      metadata: {
        name: "w",
        namespace: "ns",
        finalizers: [F],
        deletionTimestamp: "2024-01-01T00:00:00Z",
      },
    };
    const results = [
      ReconcileResult.requeueAfter(30_000), // e.g. waiting for a cloud volume to detach
      ReconcileResult.requeue(),
      ReconcileResult.done(),
    ];
    const returned: string[] = [];
    for (const result of results) {
      const got = await withFinalizer(deleting, {
        client,
        resource: widgets,
        finalizer: F,
        apply: () => Promise.reject(new Error("must not apply")),
        cleanup: () => Promise.resolve(result),
      });
      returned.push(got.action.kind);
      if (result.action.kind !== "done") {
        assert.equal(requests.length, 0, `kept after ${result.action.kind}`);
      }
    }
    assert.deepEqual(returned, ["requeueAfter", "requeue", "done"]);
    assert.equal(requests.length, 1, "removed once, after done");
    assert.equal(requests[0]!.method, "PATCH");
  });
});
