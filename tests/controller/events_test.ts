import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  EventRecorder,
  type EventRecorderObserver,
  type KubeEvent,
} from "../../controller/events.ts";
import type { LogFields } from "../../common/log.ts";
import type { KubeObject } from "../../client/objects.ts";
import { recordingClient } from "./_helpers.ts";

const pod: KubeObject = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w", namespace: "ns", uid: "u-1", resourceVersion: "7" },
};

describe("EventRecorder", () => {
  it("creates an Event with involvedObject, source and count 1 in the object's namespace", async () => {
    const { client, requests } = recordingClient((r) => ({
      status: 201,
      body: {
        ...(r.body as object),
        metadata: { name: "w.abc", namespace: "ns" },
      },
    }));
    const recorder = new EventRecorder(client, "widget-operator", {
      instance: "pod-0",
      now: () => new Date("2024-01-01T00:00:00Z"),
    });
    await recorder.normal(pod, { reason: "Created", message: "made it" });
    assert.equal(requests.length, 1);
    assert.equal(requests[0]!.path, "/api/v1/namespaces/ns/events");
    const event = requests[0]!.body as KubeEvent;
    assert.deepEqual(event.involvedObject, {
      apiVersion: "example.com/v1",
      kind: "Widget",
      name: "w",
      namespace: "ns",
      uid: "u-1",
      resourceVersion: "7",
    });
    assert.equal(event.type, "Normal");
    assert.equal(event.count, 1);
    assert.equal(event.source.component, "widget-operator");
    assert.equal(event.reportingInstance, "pod-0");
    assert.equal(event.firstTimestamp, "2024-01-01T00:00:00Z");
  });

  it("aggregates identical events into one Event with a growing count", async () => {
    let t = 0;
    const { client, requests } = recordingClient((r) =>
      r.method === "POST"
        ? {
          status: 201,
          body: {
            ...(r.body as object),
            metadata: { name: "w.1", namespace: "ns" },
          },
        }
        : { status: 200, body: { metadata: { name: "w.1" } } }
    );
    const recorder = new EventRecorder(client, "op", {
      now: () => new Date(Date.UTC(2024, 0, 1, 0, 0, t++)),
    });
    for (let i = 0; i < 5; i++) {
      await recorder.warning(pod, { reason: "Failed", message: "quota" });
    }
    await recorder.warning(pod, { reason: "Failed", message: "other" });
    assert.deepEqual(requests.map((r) => r.method), [
      "POST",
      "PATCH",
      "PATCH",
      "PATCH",
      "PATCH",
      "POST",
    ]);
    assert.equal(requests[1]!.path, "/api/v1/namespaces/ns/events/w.1");
    assert.equal(requests[1]!.contentType, "application/merge-patch+json");
    assert.deepEqual(requests[4]!.body, {
      count: 5,
      lastTimestamp: "2024-01-01T00:00:04Z",
    });
  });

  it("coalesces a burst of identical events into few writes", async () => {
    const { client, requests } = recordingClient((r) =>
      r.method === "POST"
        ? { status: 201, body: { metadata: { name: "w.1", namespace: "ns" } } }
        : { status: 200, body: { metadata: { name: "w.1" } } }
    );
    const recorder = new EventRecorder(client, "op");
    await Promise.all(
      Array.from(
        { length: 100 },
        () => recorder.normal(pod, { reason: "Tick", message: "again" }),
      ),
    );
    assert.ok(requests.length <= 3, `${requests.length} writes for 100 events`);
    const last = requests.at(-1)!.body as { count: number };
    assert.equal(last.count, 100);
  });

  it("creates a fresh Event when the aggregated one expired", async () => {
    const { client, requests } = recordingClient((r) =>
      r.method === "POST"
        ? {
          status: 201,
          body: { metadata: { name: `w.${requests.length}`, namespace: "ns" } },
        }
        : { status: 404, body: { reason: "NotFound" } }
    );
    const recorder = new EventRecorder(client, "op");
    await recorder.normal(pod, { reason: "Tick", message: "m" });
    await recorder.normal(pod, { reason: "Tick", message: "m" });
    assert.deepEqual(requests.map((r) => r.method), ["POST", "PATCH", "POST"]);
    assert.equal((requests[2]!.body as KubeEvent).count, 2);
  });

  it("writes events.k8s.io/v1 Events with regarding, note and a series when asked", async () => {
    let t = 0;
    const { client, requests } = recordingClient((r) =>
      r.method === "POST"
        ? { status: 201, body: { metadata: { name: "w.1", namespace: "ns" } } }
        : { status: 200, body: { metadata: { name: "w.1" } } }
    );
    const recorder = new EventRecorder(client, "widget-operator", {
      api: "events.k8s.io/v1",
      instance: "pod-0",
      now: () => new Date(Date.UTC(2024, 0, 1, 0, 0, t++)),
    });
    for (let i = 0; i < 3; i++) {
      await recorder.warning(pod, { reason: "Failed", message: "quota" });
    }
    assert.deepEqual(requests.map((r) => [r.method, r.path]), [
      ["POST", "/apis/events.k8s.io/v1/namespaces/ns/events"],
      ["PATCH", "/apis/events.k8s.io/v1/namespaces/ns/events/w.1"],
      ["PATCH", "/apis/events.k8s.io/v1/namespaces/ns/events/w.1"],
    ]);
    const created = requests[0]!.body as Record<string, unknown>;
    assert.equal(created.apiVersion, "events.k8s.io/v1");
    assert.equal(created.eventTime, "2024-01-01T00:00:00.000000Z");
    assert.equal((created.regarding as { uid: string }).uid, "u-1");
    assert.equal(created.note, "quota");
    assert.equal(created.type, "Warning");
    assert.equal(created.action, "Failed");
    assert.equal(created.reportingController, "widget-operator");
    assert.equal(created.reportingInstance, "pod-0");
    assert.equal(created.series, undefined);
    assert.equal(created.involvedObject, undefined);
    assert.equal(requests[2]!.contentType, "application/merge-patch+json");
    assert.deepEqual(requests[2]!.body, {
      series: { count: 3, lastObservedTime: "2024-01-01T00:00:02.000000Z" },
    });
  });
});

describe("EventRecorder under faults", () => {
  function failing(status: number, body: unknown) {
    return recordingClient(() => ({ status, body }));
  }

  it("never rejects: a 403, a terminating namespace and a fenced client are logged at warn and counted as failed", async () => {
    const outcomes: string[] = [];
    const warnings: LogFields[] = [];
    const logger = {
      info: () => {},
      warn: (_message: string, fields: LogFields = {}) => warnings.push(fields),
      error: () => {},
    };
    const observer: EventRecorderObserver = {
      recorded: (e) => outcomes.push(`${e.reason}:${e.outcome}`),
    };
    const forbidden = failing(403, { kind: "Status", reason: "Forbidden" });
    const terminating = failing(403, {
      kind: "Status",
      reason: "Forbidden",
      details: { causes: [{ reason: "NamespaceTerminating" }] },
    });
    const lost = new AbortController();
    lost.abort();
    const fenced = recordingClient(() => ({ status: 201, body: {} }));
    const recorders = [
      new EventRecorder(forbidden.client, "op", { logger, observer }),
      new EventRecorder(terminating.client, "op", { logger, observer }),
      new EventRecorder(fenced.client.fenced(lost.signal), "op", {
        logger,
        observer,
      }),
    ];
    // Fired and forgotten, as client-go users do: each promise must resolve.
    const settled = recorders.map((recorder, i) =>
      recorder.warning(pod, { reason: `R${i}`, message: "m" }).then(
        () => "resolved",
        (error) => `rejected: ${error}`,
      )
    );
    assert.deepEqual(await Promise.all(settled), [
      "resolved",
      "resolved",
      "resolved",
    ]);
    assert.deepEqual(outcomes.sort(), ["R0:failed", "R1:failed", "R2:failed"]);
    assert.equal(warnings.length, 3);
    const first = warnings.find((w) => w.reason === "R0")!;
    assert.equal(first.object, "ns/w");
    assert.match(String(first.error), /HTTP 403 Forbidden/);
    assert.equal(fenced.requests.length, 0, "the fenced client sent nothing");
  });

  it("writes the count of occurrences that failed with the next one that succeeds", async () => {
    let fail = true;
    const { client, requests } = recordingClient((r) =>
      fail
        ? { status: 500, body: { reason: "InternalError" } }
        : r.method === "POST"
        ? { status: 201, body: { metadata: { name: "w.1", namespace: "ns" } } }
        : { status: 200, body: { metadata: { name: "w.1" } } }
    );
    const recorder = new EventRecorder(client, "op");
    await recorder.normal(pod, { reason: "Tick", message: "m" });
    fail = false;
    await recorder.normal(pod, { reason: "Tick", message: "m" });
    assert.deepEqual(requests.map((r) => r.method), ["POST", "POST"]);
    assert.equal((requests[1]!.body as KubeEvent).count, 2);
  });

  it("rate-limits events per source and object like client-go's spam filter: a burst of 25, then one per 5 minutes", async () => {
    let now = Date.UTC(2024, 0, 1);
    let created = 0;
    const { client, requests } = recordingClient((r) => ({
      status: 201,
      body: {
        ...(r.body as object),
        metadata: { name: `e.${created++}`, namespace: "ns" },
      },
    }));
    const outcomes: string[] = [];
    const recorder = new EventRecorder(client, "op", {
      now: () => new Date(now),
      observer: { recorded: (e) => outcomes.push(e.outcome) },
    });
    for (let i = 0; i < 30; i++) {
      await recorder.normal(pod, { reason: `Step${i}`, message: "m" });
    }
    assert.equal(requests.length, 25, "the burst");
    assert.equal(outcomes.filter((o) => o === "filtered").length, 5);
    const other = {
      ...pod,
      metadata: { ...pod.metadata, name: "x", uid: "u-2" },
    };
    await recorder.normal(other, { reason: "Step0", message: "m" });
    assert.equal(requests.length, 26, "another object has its own budget");
    now += 299_000;
    await recorder.normal(pod, { reason: "Late", message: "m" });
    assert.equal(requests.length, 26, "not yet a token");
    now += 1_000;
    await recorder.normal(pod, { reason: "Later", message: "m" });
    assert.equal(requests.length, 27, "one token per 300 s");
    assert.equal((requests[26]!.body as KubeEvent).reason, "Later");
  });

  it("combines similar events (same object, type and reason, 10 different messages within 10 minutes) into one Event", async () => {
    let t = 0;
    let created = 0;
    const { client, requests } = recordingClient((r) =>
      r.method === "POST"
        ? {
          status: 201,
          body: {
            ...(r.body as object),
            metadata: { name: `e.${created++}`, namespace: "ns" },
          },
        }
        : { status: 200, body: { metadata: { name: "e.9" } } }
    );
    const recorder = new EventRecorder(client, "op", {
      now: () => new Date(Date.UTC(2024, 0, 1, 0, 0, t++)),
    });
    for (let i = 0; i < 12; i++) {
      await recorder.warning(pod, {
        reason: "BackOff",
        message: `restart ${i}`,
      });
    }
    assert.deepEqual(
      requests.map((r) => r.method),
      [...Array(10).fill("POST"), "PATCH", "PATCH"],
    );
    const combined = requests[9]!.body as KubeEvent;
    assert.equal(
      combined.message,
      "(combined from similar events): restart 9",
    );
    assert.equal(combined.count, 1);
    assert.deepEqual(requests[11]!.body, {
      count: 3,
      lastTimestamp: "2024-01-01T00:00:11Z",
      message: "(combined from similar events): restart 11",
    });
    assert.equal(requests[11]!.path, "/api/v1/namespaces/ns/events/e.9");
    t += 600;
    await recorder.warning(pod, { reason: "BackOff", message: "restart 12" });
    assert.equal(
      (requests[12]!.body as KubeEvent).message,
      "restart 12",
      "after 10 quiet minutes messages stand alone again",
    );
  });
});
