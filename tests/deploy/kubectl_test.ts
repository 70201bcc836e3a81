import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { EnvTest, selectTestControlPlane } from "../../testing/mod.ts";
import {
  deployDir,
  loadManifests,
  type Manifest,
  type StatefulSet,
} from "./_manifests.ts";

function hasKubectl(): boolean {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

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

function kubectl(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("kubectl", args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({
        code: error ? Number(error.code ?? 1) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
      });
    });
  });
}

/** `kind.group/name`, as `kubectl -o name` prints an object. */
function nameOf(m: Manifest): string {
  const group = m.apiVersion.includes("/") ? m.apiVersion.split("/")[0] : "";
  return `${m.kind.toLowerCase()}${
    group ? `.${group}` : ""
  }/${m.metadata.name}`;
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

  it("accepts every manifest of deploy/ and deploy/crds/", async () => {
    const result = await kubectl([
      "apply",
      "--dry-run=client",
      // Field validation needs the real cluster's OpenAPI schemas.
      `--validate=${process.env.KUBECONFIG ? "strict" : "false"}`,
      "--kubeconfig",
      kubeconfig,
      "-o",
      "name",
      "-f",
      deployDir,
      "-f",
      join(deployDir, "crds"),
    ]);
    assert.equal(result.code, 0, result.stderr);
    const expected = (await loadManifests()).map(nameOf).sort();
    assert.deepEqual(result.stdout.trim().split("\n").sort(), expected);
  });
});

const real = selectTestControlPlane({ kind: "envtest" });
const serverSkip = !hasKubectl() ? "kubectl is not on PATH" : real.skip;
if (real.skip) {
  console.warn(`Skipping kubectl apply --dry-run=server: ${real.skip}`);
}

/**
 * Against a real kube-apiserver: its admission (validation of every built-in
 * kind, RBAC objects, CRD structural checks, Pod Security "restricted" as
 * the namespace enforces it) judges deploy/, which the client-side dry run
 * and the in-process test server cannot.
 */
describe("kubectl apply --dry-run=server against a real API server", {
  skip: serverSkip,
}, () => {
  let plane: EnvTest;
  let dir: string;
  let kubeconfig: string;
  let manifests: Manifest[];
  const run = (...args: string[]) =>
    kubectl(["--kubeconfig", kubeconfig, "--request-timeout=60s", ...args]);
  /** `kubectl <verb> --dry-run=server` of one object, from a file. */
  const dryRun = async (verb: string, object: unknown) => {
    const file = join(
      dir,
      `object-${Math.random().toString(36).slice(2)}.json`,
    );
    await writeFile(file, JSON.stringify(object));
    return run(verb, "--dry-run=server", "-o", "name", "-f", file);
  };
  /** The StatefulSet of deploy/, as in its file (without the loader's `file`). */
  const statefulSet = (): StatefulSet => {
    const { file: _file, ...set } = structuredClone(
      manifests.find((m) => m.kind === "StatefulSet") as StatefulSet,
    );
    return set as StatefulSet;
  };
  /**
   * Pod 0 as the StatefulSet controller makes it: the template, plus a
   * volume per claim template.
   */
  const pod = (set: StatefulSet) => {
    const name = `${set.metadata.name}-0`;
    return {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: set.metadata.namespace,
        labels: set.spec.template.metadata.labels,
      },
      spec: {
        ...set.spec.template.spec,
        volumes: [
          ...set.spec.template.spec.volumes,
          ...set.spec.volumeClaimTemplates.map((claim) => ({
            name: claim.metadata.name,
            persistentVolumeClaim: {
              claimName: `${claim.metadata.name}-${name}`,
            },
          })),
        ],
      },
    };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "deploy-kubectl-server-"));
    manifests = await loadManifests();
    // Without a controller manager no ServiceAccount is needed for Pods.
    plane = await EnvTest.start({ kubeControllerManager: false });
    kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, plane.kubeConfigYaml());
    // The namespace really exists (a dry run creates nothing), so the
    // objects in it and its Pod Security level are checked.
    const created = await run("apply", "-f", join(deployDir, "namespace.yaml"));
    assert.equal(created.code, 0, created.stderr);
  });

  after(async () => {
    await plane?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("accepts every manifest of deploy/ and deploy/crds/ (RBAC, StatefulSet, PDB, NetworkPolicy, CRDs)", async () => {
    const result = await run(
      "apply",
      "--dry-run=server",
      "--validate=strict",
      "-o",
      "name",
      "-f",
      deployDir,
      "-f",
      join(deployDir, "crds"),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Warning/, result.stderr);
    const expected = manifests.map(nameOf).sort();
    assert.deepEqual(result.stdout.trim().split("\n").sort(), expected);
  });

  it("admits the StatefulSet's Pod under the namespace's Pod Security level (restricted)", async () => {
    const result = await dryRun("create", pod(statefulSet()));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), `pod/${statefulSet().metadata.name}-0`);
  });

  it("refuses what a real server refuses: a StatefulSet without a selector, a Pod that may escalate", async () => {
    const noSelector = statefulSet() as unknown as {
      spec: Record<string, unknown>;
    };
    delete noSelector.spec.selector;
    const refused = await dryRun("create", noSelector);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /spec\.selector: Required value/);
    const escalating = statefulSet();
    escalating.spec.template.spec.containers[0].securityContext = {
      ...escalating.spec.template.spec.containers[0].securityContext,
      allowPrivilegeEscalation: true,
    };
    const insecure = await dryRun("create", pod(escalating));
    assert.notEqual(insecure.code, 0);
    assert.match(insecure.stderr, /violates PodSecurity "restricted/);
  });
});
