import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Harness, startHarness } from "./_helpers.ts";

/** Runs kubectl without blocking the event loop the server runs on. */
function kubectl(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("kubectl", args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error
        ? (typeof error.code === "number" ? error.code : 1)
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const present = (await kubectl(["version", "--client"])).code === 0;

describe("TestApiServer with kubectl", {
  skip: present
    ? false
    : "kubectl is not on PATH: the kubectl compatibility checks are skipped",
}, () => {
  let h: Harness;
  let dir: string;
  let config: string;
  const run = (...args: string[]) =>
    kubectl(["--kubeconfig", config, "--request-timeout=30s", ...args]);

  before(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), "k8s-operator-kubectl-"));
    config = join(dir, "config");
    await writeFile(config, h.kc.exportConfig());
  });
  after(async () => {
    await h.server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports the server version and lists API resources through discovery", async () => {
    const version = await run("version", "-o", "json");
    assert.equal(version.code, 0, version.stderr);
    const parsed = JSON.parse(version.stdout);
    assert.equal(parsed.serverVersion.major, "1");
    const resources = await run("api-resources", "-o", "name");
    assert.equal(resources.code, 0, resources.stderr);
    const names = resources.stdout.trim().split("\n");
    for (
      const name of [
        "configmaps",
        "leases.coordination.k8s.io",
        "statefulsets.apps",
        "customresourcedefinitions.apiextensions.k8s.io",
      ]
    ) {
      assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
    }
  });

  it("applies, gets, labels, selects and deletes an object", async () => {
    const manifest = join(dir, "cm.yaml");
    await writeFile(
      manifest,
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n" +
        "  namespace: default\ndata:\n  k: v\n",
    );
    const applied = await run("apply", "--validate=false", "-f", manifest);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /configmap\/applied created/);
    const value = await run(
      "get",
      "configmap",
      "applied",
      "-o",
      "jsonpath={.data.k}",
    );
    assert.equal(value.stdout, "v");
    const labelled = await run("label", "configmap", "applied", "tier=web");
    assert.equal(labelled.code, 0, labelled.stderr);
    const selected = await run(
      "get",
      "configmaps",
      "-l",
      "tier=web",
      "-o",
      "name",
    );
    assert.equal(selected.stdout.trim(), "configmap/applied");
    const serverSide = await run(
      "apply",
      "--server-side",
      "--validate=false",
      "-f",
      manifest,
    );
    assert.equal(serverSide.code, 0, serverSide.stderr);
    const deleted = await run("delete", "configmap", "applied");
    assert.equal(deleted.code, 0, deleted.stderr);
    const gone = await run("get", "configmap", "applied");
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
  });
});
