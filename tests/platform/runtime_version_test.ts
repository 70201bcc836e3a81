import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  checkRuntimeVersion,
  MIN_DENO_VERSION,
  MIN_NODE_VERSION,
  UnsupportedRuntimeError,
} from "../../platform/runtime_version.ts";

describe("checkRuntimeVersion", () => {
  it("refuses Node 20 naming the version found and the one needed", () => {
    assert.throws(
      () => checkRuntimeVersion({ node: "20.20.2" }),
      (error: unknown) => {
        assert.ok(error instanceof UnsupportedRuntimeError);
        assert.equal(error.name, "UnsupportedRuntimeError");
        assert.equal(error.runtime, "node");
        assert.equal(error.found, "20.20.2");
        assert.equal(error.needed, MIN_NODE_VERSION);
        assert.match(
          error.message,
          /^k8s-operator needs Node ≥ 22\.19\.0, found 20\.20\.2/,
        );
        return true;
      },
    );
  });

  it("refuses a Node 22 before 22.19 and accepts 22.19, 22.23 and 24", () => {
    assert.throws(
      () => checkRuntimeVersion({ node: "22.18.9" }),
      UnsupportedRuntimeError,
    );
    checkRuntimeVersion({ node: "22.19.0" });
    checkRuntimeVersion({ node: "22.23.5" });
    checkRuntimeVersion({ node: "24.0.0-pre" });
    checkRuntimeVersion({ node: "v24.22.3" });
  });

  it("checks Deno first, since Deno sets process.versions.node too", () => {
    assert.throws(
      () => checkRuntimeVersion({ deno: "2.1.4", node: "24.0.0" }),
      (error: unknown) =>
        error instanceof UnsupportedRuntimeError &&
        error.runtime === "deno" && error.found === "2.1.4" &&
        error.needed === MIN_DENO_VERSION &&
        error.message.startsWith(
          `k8s-operator needs Deno ≥ ${MIN_DENO_VERSION}, found 2.1.4`,
        ),
    );
    checkRuntimeVersion({ deno: MIN_DENO_VERSION, node: "20.0.0" });
    checkRuntimeVersion({ deno: "3.0.0" });
  });

  it("refuses a runtime that is neither", () => {
    assert.throws(
      () => checkRuntimeVersion({}),
      /needs Node ≥ 22\.19\.0 or Deno ≥ .*found neither/,
    );
  });

  it("passes in the runtime running this test (a supported one)", () => {
    checkRuntimeVersion();
  });
});
