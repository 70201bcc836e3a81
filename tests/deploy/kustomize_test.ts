import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { load } from "js-yaml";
import { Website } from "../../examples/resources.ts";
import { deployDir, loadManifests, type StatefulSet } from "./_manifests.ts";

interface Kustomization {
  namespace: string;
  resources: string[];
  images: { name: string; newName: string; newTag: string }[];
  replicas: { name: string; count: number }[];
}

async function kustomization(): Promise<Kustomization> {
  return load(
    await readFile(join(deployDir, "kustomization.yaml"), "utf8"),
  ) as Kustomization;
}

describe("deploy/kustomization.yaml", () => {
  it("lists every manifest of deploy/ and deploy/crds/", async () => {
    const listed = (await kustomization()).resources.sort();
    const files = [
      ...(await readdir(deployDir)).filter((f) =>
        f.endsWith(".yaml") && f !== "kustomization.yaml"
      ),
      ...(await readdir(join(deployDir, "crds")))
        .filter((f) => f.endsWith(".yaml")).map((f) => `crds/${f}`),
    ].sort();
    assert.deepEqual(listed, files);
  });

  it("sets the image, the namespace and the replicas the manifests use", async () => {
    const k = await kustomization();
    const manifests = await loadManifests();
    const statefulSet = manifests.find((m) =>
      m.kind === "StatefulSet"
    ) as StatefulSet;
    const image = statefulSet.spec.template.spec.containers[0].image;
    assert.deepEqual(k.images.map((i) => i.name), [image.split(":")[0]]);
    assert.equal(k.namespace, statefulSet.metadata.namespace);
    assert.deepEqual(k.replicas, [{
      name: statefulSet.metadata.name,
      count: statefulSet.spec.replicas,
    }]);
  });
});

describe("deploy/samples/website.yaml", () => {
  it("is a valid Website in the namespace the operator watches", async () => {
    const site = Website.validate(
      load(
        await readFile(join(deployDir, "samples", "website.yaml"), "utf8"),
      ),
    );
    const statefulSet = (await loadManifests()).find((m) =>
      m.kind === "StatefulSet"
    ) as StatefulSet;
    const env = statefulSet.spec.template.spec.containers[0].env ?? [];
    const watch = env.find((e) => e.name === "WATCH_NAMESPACE");
    assert.equal(
      watch?.valueFrom?.fieldRef?.fieldPath,
      "metadata.namespace",
      "WATCH_NAMESPACE is the pod's namespace",
    );
    assert.equal(site.metadata.namespace, statefulSet.metadata.namespace);
  });
});
