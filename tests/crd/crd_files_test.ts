import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { load } from "js-yaml";
import { Type } from "typebox";
import { defineCustomResource } from "../../crd/mod.ts";
import { scriptCommand } from "../_runtime.ts";
import { Website } from "../../examples/resources.ts";
import * as registryModule from "../../deploy/crds/crds.ts";
import {
  collectDefinitions,
  diffCrdFiles,
  GENERATED_HEADER,
  renderCrdFiles,
  renderRegistry,
  writeCrdFiles,
} from "../../scripts/crd.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deployDir = join(root, "deploy/crds");
const registry = fileURLToPath(
  new URL("../../deploy/crds/crds.ts", import.meta.url),
);

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "crd-test-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("deno task crd", () => {
  it("has written current manifests into deploy/crds (run `deno task crd` if this fails)", async () => {
    // The registry imported statically, so the compiled tests under Node
    // check it too (the npm build copies deploy/crds/*.yaml beside it).
    const files = renderCrdFiles(collectDefinitions(registryModule));
    assert.ok(files.has("websites.example.k8s-operator.dev.yaml"));
    assert.deepEqual(await diffCrdFiles(deployDir, files), []);
  });

  it("renders a registry file as its module", async () => {
    assert.deepEqual(
      await renderRegistry(registry),
      renderCrdFiles(collectDefinitions(registryModule)),
    );
  });

  it("writes YAML that parses back to the manifest", () => {
    const [text] = renderCrdFiles([Website]).values();
    assert.ok(text.startsWith(`${GENERATED_HEADER}\n`));
    assert.deepEqual(load(text), Website.manifest());
  });

  it("finds missing, stale and extra files, and writing fixes them", async () => {
    await withTempDir(async (dir) => {
      const Other = defineCustomResource({
        group: "example.k8s-operator.dev",
        version: "v1",
        kind: "Database",
        scope: "Namespaced",
        spec: Type.Object({ size: Type.Integer() }),
      });
      const files = renderCrdFiles([Website, Other]);
      const [websiteFile, databaseFile] = files.keys();
      assert.deepEqual(await diffCrdFiles(dir, files), [
        { file: websiteFile, problem: "missing" },
        { file: databaseFile, problem: "missing" },
      ]);
      await writeCrdFiles(dir, files);
      assert.deepEqual(await diffCrdFiles(dir, files), []);

      const stale = files.get(websiteFile)!.replace("shortNames", "shortnames");
      await writeFile(join(dir, websiteFile), stale);
      await writeFile(join(dir, "old.yaml"), `${GENERATED_HEADER}\nkind: X\n`);
      await writeFile(join(dir, "handwritten.yaml"), "kind: Keep\n");
      const differences = await diffCrdFiles(dir, files);
      assert.equal(differences.length, 2);
      assert.equal(differences[0].file, websiteFile);
      assert.equal(differences[0].problem, "stale");
      assert.match(
        differences[0].detail ?? "",
        /^line \d+: expected " {4}shortNames:", found " {4}shortnames:"$/,
      );
      assert.deepEqual(differences[1], { file: "old.yaml", problem: "extra" });

      await writeCrdFiles(dir, files);
      assert.deepEqual(await diffCrdFiles(dir, files), []);
      assert.equal(
        await readFile(join(dir, "handwritten.yaml"), "utf8"),
        "kind: Keep\n",
      );
      await assert.rejects(() => readFile(join(dir, "old.yaml"), "utf8"));
    });
  });

  it("collects only resource definitions and refuses two with one name", () => {
    assert.deepEqual(
      collectDefinitions({ Website, helper: () => 1, value: 3 }),
      [Website],
    );
    const twin = defineCustomResource({
      group: Website.group,
      version: "v2",
      kind: "Website",
      scope: "Namespaced",
      spec: Type.Object({}),
    });
    assert.throws(
      () => collectDefinitions({ Website, twin }),
      /found two named websites\.example\.k8s-operator\.dev/,
    );
  });

  it("--check exits 1 with a clear message when files are stale", async () => {
    await withTempDir(async (dir) => {
      const { command, args } = scriptCommand(
        new URL("../../scripts/crd.ts", import.meta.url),
        ["--check", "--registry", registry, "--out", dir],
      );
      const result = await new Promise<{ code: number; stderr: string }>(
        (resolve) => {
          execFile(
            command,
            args,
            { cwd: root },
            (error, _stdout, stderr) => {
              resolve({
                code: error ? Number(error.code ?? 1) : 0,
                stderr: String(stderr),
              });
            },
          );
        },
      );
      assert.equal(result.code, 1);
      assert.match(result.stderr, /CRD manifests are out of date:/);
      assert.match(
        result.stderr,
        /websites\.example\.k8s-operator\.dev\.yaml is missing/,
      );
      assert.match(result.stderr, /Run `deno task crd` to update them\./);
    });
  });
});
