import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { loadKubeConfig } from "../../client/kubeconfig.ts";

function file(dir: string, name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

describe("loadKubeConfig", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "k8s-operator-kubeconfig-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("merges every file KUBECONFIG lists, the first to set a value winning, as kubectl does", () => {
    const first = file(
      dir,
      "first.yaml",
      `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: { server: "https://dev.example:6443", certificate-authority: dev-ca.crt }
users:
- name: dev
  user: { token: dev-token }
`,
    );
    const second = file(
      dir,
      "second.yaml",
      `apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev
  cluster: { server: "https://shadowed.example:6443" }
- name: prod
  cluster: { server: "https://prod.example:6443" }
users:
- name: prod
  user: { token: prod-token }
contexts:
- name: dev
  context: { cluster: dev, user: dev }
- name: prod
  context: { cluster: prod, user: prod }
`,
    );
    const kc = loadKubeConfig({
      env: {
        KUBECONFIG: [first, join(dir, "missing.yaml"), second].join(delimiter),
      },
    });
    assert.equal(kc.currentContext, "dev", "the first current-context wins");
    assert.equal(kc.getCurrentCluster()?.server, "https://dev.example:6443");
    assert.equal(
      kc.getCurrentCluster()?.caFile,
      join(dir, "dev-ca.crt"),
      "relative paths resolve against their own file",
    );
    assert.equal(kc.getCurrentUser()?.token, "dev-token");
    assert.deepEqual(kc.getContexts().map((c) => c.name), ["dev", "prod"]);
    assert.equal(kc.getCluster("prod")?.server, "https://prod.example:6443");
  });

  it("says which files it looked for when none of them exists", () => {
    assert.throws(
      () => loadKubeConfig({ env: { KUBECONFIG: join(dir, "nope.yaml") } }),
      /Expected at least one of the files KUBECONFIG lists to exist, found none of .*nope\.yaml/,
    );
  });
});
