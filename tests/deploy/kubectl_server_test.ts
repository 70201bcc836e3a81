/**
 * deploy/ judged by a real kube-apiserver (envtest): `kubectl apply
 * --dry-run=server` of every manifest, the StatefulSet's Pod under the
 * namespace's Pod Security level, and two refusals that prove the check
 * bites. Runs on the envtest plane (`deno task test:envtest`).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnvTest } from "../../testing/mod.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import {
  deployDir,
  loadManifests,
  type Manifest,
  type StatefulSet,
} from "./_manifests.ts";
import { hasKubectl, kubectl, nameOf } from "./_kubectl.ts";

const skip = hasKubectl()
  ? skipUnlessEnvTest("kubectl apply --dry-run=server")
  : "kubectl is not on PATH";

/**
 * Against a real kube-apiserver: its admission (validation of every built-in
 * kind, RBAC objects, CRD structural checks, Pod Security "restricted" as
 * the namespace enforces it) judges deploy/, which the client-side dry run
 * and the in-process test server cannot.
 */
describe("kubectl apply --dry-run=server against a real API server", {
  skip,
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

  it("accepts every manifest of deploy/ and deploy/crds/ through the kustomization (RBAC, StatefulSet, PDB, NetworkPolicy, CRDs)", async () => {
    const result = await run(
      "apply",
      "--dry-run=server",
      "--validate=strict",
      "-o",
      "name",
      // The kustomization (deploy/kustomization.yaml) lists every file.
      "-k",
      deployDir,
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
