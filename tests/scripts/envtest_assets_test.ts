import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  access,
  constants,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareAssets } from "../../scripts/envtest_assets.ts";

function hasXz(): boolean {
  try {
    execFileSync("xz", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("scripts/envtest_assets.ts", {
  skip: hasXz() ? false : "xz is not on PATH",
}, () => {
  let base: string;
  let root: string;
  let shared: string;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), "envtest-assets-"));
    root = join(base, "repo");
    shared = join(base, "shared", "k8s");
    await mkdir(root);
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("says why there are no binaries when ../shared/k8s is absent", async () => {
    const assets = await prepareAssets({ root });
    assert.equal(assets.dir, undefined);
    assert.match(
      assets.message,
      /^no Kubernetes binaries: KUBEBUILDER_ASSETS is not set and .*shared\/k8s holds no etcd\.xz/,
    );
  });

  it("decompresses ../shared/k8s into .tools/k8s, executable, once", async () => {
    await mkdir(shared, { recursive: true });
    for (const name of ["etcd", "kube-apiserver"]) {
      await writeFile(join(shared, name), `#!/bin/sh\necho ${name}\n`);
      execFileSync("xz", [join(shared, name)]);
    }
    const first = await prepareAssets({ root });
    const dir = join(root, ".tools", "k8s");
    assert.equal(first.dir, dir);
    assert.match(first.message, /^decompressed etcd, kube-apiserver from /);
    for (const name of ["etcd", "kube-apiserver"]) {
      assert.equal(
        await readFile(join(dir, name), "utf8"),
        `#!/bin/sh\necho ${name}\n`,
      );
      await access(join(dir, name), constants.X_OK);
    }
    await assert.rejects(stat(join(dir, "kube-controller-manager")));
    const before = (await stat(join(dir, "etcd"))).mtimeMs;
    const second = await prepareAssets({ root });
    assert.match(second.message, /is up to date with/);
    assert.equal((await stat(join(dir, "etcd"))).mtimeMs, before);
  });

  it("uses KUBEBUILDER_ASSETS as it is when set", async () => {
    const assets = await prepareAssets({ root, assets: "/opt/k8s" });
    assert.deepEqual(assets, {
      dir: "/opt/k8s",
      message: "KUBEBUILDER_ASSETS is set: /opt/k8s",
    });
  });
});
