/**
 * The differential corpus in CI: the library and the test API server
 * against the verdicts a real kube-apiserver 1.32 gave on the same
 * definitions and objects (`corpus/recorded.json`), with zero differences
 * besides those listed with a reason in `corpus/known.ts` (and
 * `crd/README.md`). On the envtest plane (`deno task test:envtest`), the
 * recording itself is re-checked against a fresh real API server, so it
 * cannot go stale. `deno task crd:corpus` prints the same comparison.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KubeClient } from "../../controller/mod.ts";
import { EnvTest, TestApiServer } from "../../testing/mod.ts";
import { skipUnlessEnvTest } from "../_control_plane.ts";
import {
  compare,
  corpusSize,
  type Difference,
  readRecording,
  runLibrary,
  runServer,
} from "./_corpus.ts";
import { isListed, known } from "./corpus/known.ts";

const recording = readRecording();

function describeAll(differences: Difference[]): string {
  return differences.map((d) =>
    `${d.what} ${d.definition}${
      d.object === undefined ? "" : ` / ${d.object}`
    }: expected ${d.expected}; found ${d.found}`
  ).join("\n");
}

function unlisted(
  against: "library" | "testServer" | "live",
  differences: Difference[],
): Difference[] {
  return differences.filter((d) => !isListed(against, d));
}

describe("the differential corpus against a real kube-apiserver 1.32", () => {
  let server: TestApiServer;
  let library: Difference[];
  let testServer: Difference[];

  before(async () => {
    server = await TestApiServer.start();
    library = compare(runLibrary(), recording.definitions);
    testServer = compare(
      await runServer(KubeClient.fromKubeConfig(server.kubeConfig())),
      recording.definitions,
    );
  });

  after(async () => {
    await server.stop();
  });

  it("holds at least 50 definitions and 450 objects, every one recorded from the real server", () => {
    const size = corpusSize();
    assert.ok(size.definitions >= 50, `${size.definitions} definitions`);
    assert.ok(size.objects >= 450, `${size.objects} objects`);
    const recorded = Object.values(recording.definitions).reduce(
      (n, d) => n + Object.keys(d.objects).length,
      0,
    );
    assert.ok(recorded >= 450, `${recorded} objects recorded`);
    assert.equal(Object.keys(recording.definitions).length, size.definitions);
    assert.match(recording.server, /^v1\.32\./);
  });

  it("the library (definition-time checks, admission and defaulting) differs from the real server only where listed", () => {
    const fresh = unlisted("library", library);
    assert.equal(fresh.length, 0, describeAll(fresh));
  });

  it("the test API server differs from the real server only where listed", () => {
    const fresh = unlisted("testServer", testServer);
    assert.equal(fresh.length, 0, describeAll(fresh));
  });

  it("every listed difference still happens (the list does not rot)", () => {
    for (const entry of known.filter((k) => k.against !== "live")) {
      const found = entry.against === "library" ? library : testServer;
      assert.ok(
        found.some((d) =>
          d.definition === entry.definition &&
          (entry.object === undefined || d.object === entry.object)
        ),
        `listed difference ${entry.against} ${entry.definition} no longer happens: remove it from corpus/known.ts and crd/README.md`,
      );
    }
  });
});

describe("the recording against a live real API server", {
  skip: skipUnlessEnvTest("the live re-check of the CRD corpus recording"),
}, () => {
  it("is what a fresh real API server answers today", async () => {
    // No controller manager: the corpus needs admission only.
    await using plane = await EnvTest.start({ kubeControllerManager: false });
    const client = KubeClient.fromKubeConfig(plane.kubeConfig());
    const version = await client.request<{ gitVersion: string }>(
      "GET",
      "/version",
    );
    assert.equal(
      version.gitVersion.split(".").slice(0, 2).join("."),
      recording.server.split(".").slice(0, 2).join("."),
      "Expected the binaries of the recording's minor version",
    );
    const differences = unlisted(
      "live",
      compare(await runServer(client), recording.definitions),
    );
    assert.equal(differences.length, 0, describeAll(differences));
  });
});
