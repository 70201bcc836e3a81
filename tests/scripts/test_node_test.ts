import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { summaryLine, tapSummary, withSmoke } from "../../scripts/test_node.ts";

describe("test_node: TAP summary", () => {
  it("reads the closing counts, cancelled as failed and todo as skipped", () => {
    const tap = [
      "TAP version 13",
      "# Subtest: a > b",
      "ok 1 - a > b",
      "1..1",
      "# tests 9",
      "# suites 2",
      "# pass 5",
      "# fail 1",
      "# cancelled 1",
      "# skipped 1",
      "# todo 1",
      "# duration_ms 12.5",
    ].join("\n");
    assert.deepEqual(tapSummary(tap), { passed: 5, failed: 2, skipped: 2 });
  });

  it("reads nothing from an empty report, which the runner treats as a failure", () => {
    assert.deepEqual(tapSummary(""), { passed: 0, failed: 0, skipped: 0 });
  });
});

describe("test_node: summary line", () => {
  it("counts the smoke test as one passed or failed test", () => {
    const counts = { passed: 4, failed: 1, skipped: 2 };
    assert.deepEqual(withSmoke(counts, true), {
      passed: 5,
      failed: 1,
      skipped: 2,
    });
    assert.deepEqual(withSmoke(counts, false), {
      passed: 4,
      failed: 2,
      skipped: 2,
    });
  });

  it("prints the plain counts, and what else failed after them", () => {
    assert.equal(
      summaryLine({ passed: 3, failed: 0, skipped: 1 }, []),
      "node: 3 passed, 0 failed, 1 skipped",
    );
    assert.equal(
      summaryLine({ passed: 0, failed: 0, skipped: 0 }, [
        "the build failed",
        "no test passed",
      ]),
      "node: 0 passed, 0 failed, 0 skipped (the build failed; no test passed)",
    );
  });
});
