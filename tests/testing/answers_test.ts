/**
 * The smaller shapes of a real kube-apiserver 1.32's answers that the
 * differential suite found the in-process server to get wrong, held on the
 * in-process server alone: what each failure `Status` names in its
 * `details`, what Go's encoder leaves out, and the fields both Event APIs,
 * CRDs, StatefulSets, Services and Deployments are given on create. The
 * expected values are the real server's, as the differential suite
 * recorded them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Harness, jsonSender, startHarness } from "./_helpers.ts";
import { gadgetCrd } from "./differential/gadgets.ts";

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const APPLY = "application/apply-patch+yaml";

// deno-lint-ignore no-explicit-any
type Any = any;

/** A failure's comparable part: code, reason and details, causes without messages. */
function failure(reply: { code: number; body: Any }): Any {
  const details = reply.body.details === undefined
    ? undefined
    : { ...reply.body.details };
  if (details?.causes) {
    details.causes = details.causes.map((c: Any) => ({
      reason: c.reason,
      field: c.field,
    }));
  }
  return {
    code: reply.code,
    kind: reply.body.kind,
    reason: reply.body.reason,
    details,
  };
}

describe("TestApiServer answers as a real kube-apiserver 1.32 shapes them", () => {
  let h: Harness;
  const send = jsonSender(() => h.server);
  const cms = "/api/v1/namespaces/default/configmaps";
  const gadgets = "/apis/answers.example.com/v1/namespaces/default/gadgets";

  before(async () => {
    h = await startHarness();
    const crd = await send(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      { method: "POST", body: gadgetCrd("answers.example.com") },
    );
    assert.equal(crd.code, 201);
  });
  after(async () => {
    await h.server.stop();
  });

  it("names in a failure's details what the real server names, and nothing else", async () => {
    await send(cms, {
      method: "POST",
      body: { metadata: { name: "p" }, data: { a: "1" } },
    });
    assert.deepEqual(
      failure(
        await send(cms, { method: "POST", body: { metadata: {}, data: {} } }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          kind: "ConfigMap",
          causes: [{ reason: "FieldValueRequired", field: "metadata.name" }],
        },
      },
      "a missing name is no name in the details",
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p`, {
          method: "PATCH",
          body: [
            { op: "test", path: "/data/a", value: "nope" },
          ],
          contentType: JSON_PATCH,
        }),
      ),
      { code: 422, kind: "Status", reason: "Invalid", details: {} },
      "a failed JSON patch test names no object",
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p`, {
          method: "PATCH",
          body: {},
          contentType: "application/x-unknown",
        }),
      ),
      {
        code: 415,
        kind: "Status",
        reason: "UnsupportedMediaType",
        details: {},
      },
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p`, {
          method: "DELETE",
          body: {
            preconditions: { uid: "00000000-0000-0000-0000-000000000000" },
          },
        }),
      ),
      {
        code: 409,
        kind: "Status",
        reason: "Conflict",
        details: { name: "p", kind: "ConfigMap" },
      },
      "a failed precondition names the kind, not the resource",
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p?propagationPolicy=Sometimes`, {
          method: "DELETE",
        }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          group: "meta.k8s.io",
          kind: "DeleteOptions",
          causes: [{
            reason: "FieldValueNotSupported",
            field: "propagationPolicy",
          }],
        },
      },
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p`, {
          method: "PATCH",
          body: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "p" },
          },
          contentType: APPLY,
        }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          group: "meta.k8s.io",
          kind: "PatchOptions",
          causes: [{ reason: "FieldValueRequired", field: "fieldManager" }],
        },
      },
      "an apply without fieldManager",
    );
    assert.deepEqual(
      failure(
        await send(`${cms}/p/status`, {
          method: "PATCH",
          body: { data: {} },
          contentType: MERGE,
        }),
      ),
      { code: 404, kind: "Status", reason: "NotFound", details: {} },
      "the status of a kind without one",
    );
    const badWatch = await send(`${cms}?watch=true&resourceVersion=abc`);
    assert.deepEqual(failure(badWatch), {
      code: 500,
      kind: "Status",
      reason: undefined,
      details: undefined,
    });
  });

  it("names a custom resource's failures by its resource, a wrong kind by the kind it says", async () => {
    await send(gadgets, {
      method: "POST",
      body: {
        apiVersion: "answers.example.com/v1",
        kind: "Gadget",
        metadata: { name: "a" },
      },
    });
    assert.deepEqual(
      failure(
        await send(`${gadgets}/a`, {
          method: "PUT",
          body: {
            apiVersion: "answers.example.com/v1",
            kind: "Gadget",
            metadata: { name: "a" },
          },
        }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          name: "a",
          group: "answers.example.com",
          kind: "gadgets",
          causes: [{
            reason: "FieldValueInvalid",
            field: "metadata.resourceVersion",
          }],
        },
      },
      "an update without resourceVersion",
    );
    assert.deepEqual(
      failure(
        await send(gadgets, {
          method: "POST",
          body: {
            apiVersion: "answers.example.com/v1",
            kind: "Widget",
            metadata: { name: "w" },
          },
        }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          name: "w",
          group: "answers.example.com",
          kind: "Widget",
          causes: [{ reason: "FieldValueInvalid", field: "kind" }],
        },
      },
      "a create whose kind is not the resource's",
    );
    assert.deepEqual(
      failure(await send(`${gadgets}/nope/scale`)),
      {
        code: 404,
        kind: "Status",
        reason: "NotFound",
        details: {
          name: "nope",
          group: "answers.example.com",
          kind: "gadgets",
        },
      },
      "the scale of a missing object",
    );
    await send(`${gadgets}/a`, {
      method: "PATCH",
      body: {
        metadata: { finalizers: ["example.com/hold"] },
      },
      contentType: MERGE,
    });
    await send(`${gadgets}/a`, { method: "DELETE" });
    assert.deepEqual(
      failure(
        await send(`${gadgets}/a`, {
          method: "PATCH",
          body: [{
            op: "add",
            path: "/metadata/finalizers/-",
            value: "example.com/late",
          }],
          contentType: JSON_PATCH,
        }),
      ),
      {
        code: 422,
        kind: "Status",
        reason: "Invalid",
        details: {
          name: "a",
          group: "answers.example.com",
          kind: "Gadget",
          causes: [
            { reason: "FieldValueForbidden", field: "metadata.finalizers" },
            { reason: "FieldValueForbidden", field: "metadata.finalizers" },
          ],
        },
      },
      "a finalizer added while deleting: the real server reports it twice",
    );
  });

  it("refuses a create in a terminating namespace as Forbidden, naming the resource", async () => {
    await send("/api/v1/namespaces", {
      method: "POST",
      body: { metadata: { name: "ending" } },
    });
    await send("/api/v1/namespaces/ending/configmaps", {
      method: "POST",
      body: {
        metadata: { name: "held", finalizers: ["example.com/hold"] },
      },
    });
    await send("/api/v1/namespaces/ending", { method: "DELETE" });
    assert.deepEqual(
      failure(
        await send("/api/v1/namespaces/ending/configmaps", {
          method: "POST",
          body: {
            metadata: { name: "late" },
          },
        }),
      ),
      {
        code: 403,
        kind: "Status",
        reason: "Forbidden",
        details: {
          name: "late",
          kind: "configmaps",
          causes: [{
            reason: "NamespaceTerminating",
            field: "metadata.namespace",
          }],
        },
      },
    );
  });

  it("leaves out what Go's encoder omits: empty data, a dry-run create's resourceVersion; a custom list says continue \"\"", async () => {
    const empty = await send(cms, {
      method: "POST",
      body: {
        metadata: { name: "e" },
        data: {},
      },
    });
    assert.equal(empty.code, 201);
    assert.equal("data" in empty.body, false, "an empty map is omitted");
    assert.equal(
      "data" in (await send(`${cms}/e`)).body,
      false,
    );
    const dry = await send(`${cms}?dryRun=All`, {
      method: "POST",
      body: {
        metadata: { name: "dry" },
      },
    });
    assert.equal(dry.code, 201);
    assert.equal(dry.body.metadata.resourceVersion, undefined);
    assert.ok(dry.body.metadata.uid, "a dry run still answers a uid");
    const list = await send(gadgets);
    assert.equal(list.body.metadata.continue, "");
  });

  it("fills in the fields both Event APIs default", async () => {
    const involved = {
      kind: "ConfigMap",
      name: "x",
      namespace: "default",
      apiVersion: "v1",
    };
    const coreEvent = await send("/api/v1/namespaces/default/events", {
      method: "POST",
      body: {
        metadata: { name: "ev1" },
        involvedObject: involved,
        reason: "Tested",
        message: "a message",
        type: "Normal",
        count: 1,
        firstTimestamp: "2025-01-01T00:00:00Z",
        lastTimestamp: "2025-01-01T00:00:00Z",
        source: { component: "answers" },
      },
    });
    assert.equal(coreEvent.code, 201);
    assert.equal(coreEvent.body.eventTime, null);
    assert.equal(coreEvent.body.reportingComponent, "");
    assert.equal(coreEvent.body.reportingInstance, "");
    const newEvent = await send(
      "/apis/events.k8s.io/v1/namespaces/default/events",
      {
        method: "POST",
        body: {
          metadata: { name: "ev2" },
          eventTime: "2025-01-01T00:00:00.000000Z",
          reportingController: "example.com/answers",
          reportingInstance: "answers-1",
          action: "Test",
          reason: "Tested",
          regarding: involved,
          note: "a note",
          type: "Normal",
        },
      },
    );
    assert.equal(newEvent.code, 201);
    assert.deepEqual(newEvent.body.deprecatedSource, {});
    assert.equal(newEvent.body.deprecatedFirstTimestamp, null);
    assert.equal(newEvent.body.deprecatedLastTimestamp, null);
  });

  it("defaults a CRD's conversion and list kind, a StatefulSet's policies, a headless Service's families, a Deployment's status", async () => {
    const base = gadgetCrd("answers.example.com");
    const crd = await send(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      {
        method: "POST",
        body: {
          ...base,
          metadata: { name: "bolts.answers.example.com" },
          spec: {
            ...base.spec as object,
            names: { plural: "bolts", kind: "Bolt" },
          },
        },
      },
    );
    assert.deepEqual(crd.body.spec.conversion, { strategy: "None" });
    assert.deepEqual(crd.body.spec.names, {
      plural: "bolts",
      singular: "bolt",
      kind: "Bolt",
      listKind: "BoltList",
    });
    const template = {
      metadata: { labels: { app: "db" } },
      spec: {
        automountServiceAccountToken: false,
        containers: [{ name: "app", image: "nginx:1.27" }],
      },
    };
    const sts = await send("/apis/apps/v1/namespaces/default/statefulsets", {
      method: "POST",
      body: {
        metadata: { name: "db" },
        spec: {
          serviceName: "db",
          selector: { matchLabels: { app: "db" } },
          template,
        },
      },
    });
    assert.equal(sts.code, 201);
    assert.equal(sts.body.spec.podManagementPolicy, "OrderedReady");
    assert.deepEqual(sts.body.spec.updateStrategy, {
      type: "RollingUpdate",
      rollingUpdate: { partition: 0 },
    });
    assert.deepEqual(sts.body.spec.persistentVolumeClaimRetentionPolicy, {
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    assert.deepEqual(sts.body.status, { replicas: 0, availableReplicas: 0 });
    const headless = await send("/api/v1/namespaces/default/services", {
      method: "POST",
      body: {
        metadata: { name: "headless" },
        spec: {
          clusterIP: "None",
          selector: { app: "db" },
          ports: [{ port: 5432 }],
        },
      },
    });
    assert.equal(headless.code, 201);
    assert.deepEqual(headless.body.spec.clusterIPs, ["None"]);
    assert.deepEqual(headless.body.spec.ipFamilies, ["IPv4"]);
    assert.equal(headless.body.spec.ipFamilyPolicy, "SingleStack");
    assert.equal(headless.body.spec.internalTrafficPolicy, "Cluster");
    assert.deepEqual(headless.body.status, { loadBalancer: {} });
    const dep = await send("/apis/apps/v1/namespaces/default/deployments", {
      method: "POST",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "db" } },
          template,
        },
      },
    });
    assert.equal(dep.code, 201);
    assert.deepEqual(dep.body.status, {});
  });
});
