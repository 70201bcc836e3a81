/**
 * `CustomResource.install` resolves once the definition is Established and
 * its resource served, so the first create right after it succeeds (on a
 * real API server it got 404 before); it fails with
 * `CrdNotEstablishedError` when the server refuses the names or does not
 * establish the definition in time.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Type } from "typebox";
import {
  startTestControlPlane,
  TestApiServer,
  type TestControlPlane,
} from "../../testing/mod.ts";
import { CrdNotEstablishedError, defineCustomResource } from "../../crd/mod.ts";
import { KubeClient } from "../../controller/mod.ts";
import {
  plane,
  skipUnlessEnvTest,
  skipUnlessRunnable,
} from "../_control_plane.ts";

const GROUP = "install.k8s-operator.dev";

/**
 * A small namespaced resource of kind `kind`, in an API group of its own
 * unless `group` is given: a new group is what a real server takes longest
 * to serve.
 */
function resource(
  kind: string,
  options: { plural?: string; group?: string } = {},
) {
  return defineCustomResource({
    group: options.group ?? `${kind.toLowerCase()}.${GROUP}`,
    version: "v1",
    kind,
    plural: options.plural,
    scope: "Namespaced",
    spec: Type.Object({ size: Type.Integer({ minimum: 0 }) }),
  });
}

/**
 * Installs `kind`, then at once creates an object of it, or lists them
 * (a list is what a controller sends first, and what a real server is
 * quickest to refuse: 404 until the group is routed, 429 while the
 * storage initializes).
 */
async function installAndUse(
  server: TestControlPlane,
  kind: string,
  use: "create" | "list",
): Promise<void> {
  const definition = resource(kind);
  const installed = await definition.install(server.kubeConfig(), {
    fieldManager: "install-test",
  });
  const status = (installed as { status?: { conditions?: unknown[] } }).status;
  assert.ok(
    status?.conditions?.some((c) =>
      (c as { type?: string }).type === "Established" &&
      (c as { status?: string }).status === "True"
    ),
    `Expected install to resolve with ${definition.name} Established, found ${
      JSON.stringify(status)
    }`,
  );
  const client = definition.client(server.kubeConfig());
  if (use === "list") {
    assert.deepEqual((await client.list({ namespace: "default" })).items, []);
    return;
  }
  const created = await client.create(
    definition.build({
      metadata: { name: "first", namespace: "default" },
      spec: { size: 1 },
    }),
  );
  assert.equal(created.metadata.name, "first");
}

describe(`CustomResource.install against the ${plane.kind} control plane`, {
  skip: skipUnlessRunnable("the CRD install tests"),
}, () => {
  let server: TestControlPlane;
  before(async () => {
    server = await startTestControlPlane({ kind: plane.kind });
  });
  after(async () => {
    await server?.stop();
  });

  it("resolves with the Established definition, and a create or list right after it succeeds", async () => {
    // Definitions in new groups, each used at once: without the wait, a
    // real server refused about half of these lists (404, 429).
    const kinds = ["Gadget", "Gizmo", "Widget", "Doohickey"];
    for (const kind of kinds) await installAndUse(server, kind, "create");
    for (const kind of kinds.flatMap((k) => [`${k}Part`, `${k}Kit`])) {
      await installAndUse(server, kind, "list");
    }
  });

  it("resolves at once when the definition is already installed", async () => {
    const gadget = resource("Gadget");
    const again = await gadget.install(server.kubeConfig(), {
      fieldManager: "install-test",
      timeoutMs: 5_000,
    });
    assert.equal(again.metadata.name, `gadgets.gadget.${GROUP}`);
  });
});

describe("CustomResource.install when the definition is not Established", () => {
  let server: TestApiServer;
  before(async () => {
    server = await TestApiServer.start();
  });
  after(async () => {
    await server.stop();
  });

  it("rejects after timeoutMs with CrdNotEstablishedError naming what it found", async () => {
    const held = resource("Held");
    await held.install(server.kubeConfig(), { fieldManager: "install-test" });
    // The in-process server establishes a definition when it is created;
    // set its status back, as a real server shows it before establishing.
    const client = KubeClient.fromKubeConfig(server.kubeConfig());
    await client.patch(
      {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        kind: "CustomResourceDefinition",
        namespaced: false,
      },
      held.name,
      {
        status: {
          conditions: [{
            type: "Established",
            status: "False",
            reason: "Installing",
            message: "the initial names have not been accepted yet",
            lastTransitionTime: new Date().toISOString(),
          }],
        },
      },
      { subresource: "status" },
    );
    const started = performance.now();
    await assert.rejects(
      held.install(server.kubeConfig(), {
        fieldManager: "install-test",
        timeoutMs: 300,
      }),
      (error: unknown) => {
        assert.ok(error instanceof CrdNotEstablishedError, String(error));
        assert.equal(error.name, "CrdNotEstablishedError");
        assert.equal(error.definition, `helds.held.${GROUP}`);
        assert.match(
          error.message,
          /^Expected the CustomResourceDefinition helds\.held\.install\.k8s-operator\.dev to be Established and served within 300 ms, found Established=False \(Installing: the initial names have not been accepted yet\)/,
        );
        return true;
      },
    );
    assert.ok(performance.now() - started >= 300);
  });

  it("rejects at once when a request to check it is refused", async () => {
    const refused = resource("Refused");
    // Named: the previous test's last check, cut by its deadline on the
    // client, can still reach the server after this line and would take
    // an unnamed fault (about 1 run in 10 under load).
    server.faults.failNext({
      verb: "get",
      resource: "customresourcedefinitions",
      name: refused.name,
      status: 403,
    });
    await assert.rejects(
      refused.install(server.kubeConfig(), {
        fieldManager: "install-test",
        timeoutMs: 30_000,
      }),
      /HTTP 403/,
    );
  });
});

describe("CustomResource.install on a real API server that refuses the names", {
  skip: skipUnlessEnvTest("the CRD name conflict test"),
}, () => {
  let server: TestControlPlane;
  before(async () => {
    server = await startTestControlPlane({ kind: "envtest" });
  });
  after(async () => {
    await server?.stop();
  });

  it("rejects at once, naming the conflict, when another definition holds the kind", async () => {
    await resource("Sprocket", { group: GROUP }).install(server.kubeConfig(), {
      fieldManager: "install-test",
    });
    // The same kind under another plural in the same group: the server
    // stores it, but never accepts its names nor establishes it.
    const clash = resource("Sprocket", { plural: "cogs", group: GROUP });
    const started = performance.now();
    await assert.rejects(
      clash.install(server.kubeConfig(), {
        fieldManager: "install-test",
        timeoutMs: 60_000,
      }),
      (error: unknown) => {
        assert.ok(error instanceof CrdNotEstablishedError, String(error));
        assert.match(
          error.message,
          /^Expected the CustomResourceDefinition cogs\.install\.k8s-operator\.dev to be Established, found its names refused: NamesAccepted=False \((List)?KindConflict: "Sprocket(List)?" is already in use\)$/,
        );
        return true;
      },
    );
    assert.ok(
      performance.now() - started < 30_000,
      "Expected the refusal long before the deadline",
    );
  });
});
