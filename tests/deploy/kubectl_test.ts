import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { deployDir, loadManifests } from "./_manifests.ts";
import { hasKubectl, kubectl, nameOf } from "./_kubectl.ts";

/** The built-in kinds of deploy/, as the API server's discovery lists them. */
const RESOURCES: Record<string, [string, string, boolean][]> = {
  "v1": [
    ["namespaces", "Namespace", false],
    ["services", "Service", true],
    ["serviceaccounts", "ServiceAccount", true],
    ["secrets", "Secret", true],
  ],
  "apps/v1": [["statefulsets", "StatefulSet", true]],
  "policy/v1": [["poddisruptionbudgets", "PodDisruptionBudget", true]],
  "networking.k8s.io/v1": [["networkpolicies", "NetworkPolicy", true]],
  "rbac.authorization.k8s.io/v1": [
    ["roles", "Role", true],
    ["rolebindings", "RoleBinding", true],
    ["clusterroles", "ClusterRole", false],
    ["clusterrolebindings", "ClusterRoleBinding", false],
  ],
  "apiextensions.k8s.io/v1": [
    ["customresourcedefinitions", "CustomResourceDefinition", false],
  ],
};

/**
 * Just enough of an API server for `kubectl apply --dry-run=client`:
 * legacy discovery of the kinds above, and 404 for every object (so each
 * is "created").
 */
function discoveryServer(): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const groups = Object.keys(RESOURCES).filter((gv) => gv.includes("/"));
    if (path === "/api") {
      return send(200, { kind: "APIVersions", versions: ["v1"] });
    }
    if (path === "/apis") {
      return send(200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: groups.map((gv) => {
          const version = { groupVersion: gv, version: gv.split("/")[1] };
          return {
            name: gv.split("/")[0],
            versions: [version],
            preferredVersion: version,
          };
        }),
      });
    }
    const gv = path === "/api/v1" ? "v1" : path.replace(/^\/apis\//, "");
    if (RESOURCES[gv] !== undefined) {
      return send(200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: gv,
        resources: RESOURCES[gv].map(([name, kind, namespaced]) => ({
          name,
          singularName: kind.toLowerCase(),
          namespaced,
          kind,
          verbs: ["get", "list", "watch", "create", "update", "patch"],
        })),
      });
    }
    send(404, {
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "NotFound",
      code: 404,
      message: `${path} not found`,
    });
  });
}

describe("kubectl apply --dry-run=client", {
  skip: hasKubectl() ? false : "kubectl is not on PATH",
}, () => {
  let dir: string;
  let server: Server | undefined;
  let kubeconfig: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "deploy-kubectl-"));
    if (process.env.KUBECONFIG) {
      kubeconfig = process.env.KUBECONFIG;
      return;
    }
    const listening = discoveryServer();
    server = listening;
    await new Promise<void>((resolve) =>
      listening.listen(0, "127.0.0.1", resolve)
    );
    const { port } = listening.address() as AddressInfo;
    kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{
          name: "fake",
          cluster: { server: `http://127.0.0.1:${port}` },
        }],
        users: [{ name: "fake", user: {} }],
        contexts: [{
          name: "fake",
          context: { cluster: "fake", user: "fake" },
        }],
        "current-context": "fake",
      }),
    );
  });

  after(async () => {
    await new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve()
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts every manifest of deploy/ and deploy/crds/, through the kustomization", async () => {
    const result = await kubectl([
      "apply",
      "--dry-run=client",
      // Field validation needs the real cluster's OpenAPI schemas.
      `--validate=${process.env.KUBECONFIG ? "strict" : "false"}`,
      "--kubeconfig",
      kubeconfig,
      "-o",
      "name",
      // The kustomization (deploy/kustomization.yaml) lists every file.
      "-k",
      deployDir,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const expected = (await loadManifests()).map(nameOf).sort();
    assert.deepEqual(result.stdout.trim().split("\n").sort(), expected);
  });
});
