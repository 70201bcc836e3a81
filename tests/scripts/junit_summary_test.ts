import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { failures, report, summarize } from "../../scripts/junit_summary.ts";

describe("junit_summary", () => {
  it("counts describe blocks as containers, not as tests", () => {
    const xml = `<testsuites>
      <testsuite name="f"><testcase name="group"></testcase></testsuite>
      <testsuite name="ext"><testcase name="group &gt; one"></testcase>
      <testcase name="group &gt; two"><failure message="x">boom</failure></testcase>
      <testcase name="group &gt; three"><skipped/></testcase></testsuite>
    </testsuites>`;
    assert.deepEqual(summarize([xml]), { passed: 1, failed: 1, skipped: 1 });
  });

  it("counts a top-level test without steps as one test", () => {
    const xml = `<testsuites><testsuite><testcase name="alone" time="0"/>
      </testsuite></testsuites>`;
    assert.deepEqual(summarize([xml]), { passed: 1, failed: 0, skipped: 0 });
  });

  it("adds up several reports", () => {
    const a = `<testcase name="a"><error>x</error></testcase>`;
    const b = `<testcase name="b"></testcase>`;
    assert.deepEqual(summarize([a, b]), { passed: 1, failed: 1, skipped: 0 });
  });

  it("names each failed leaf with the file of its top-level case and its message", () => {
    const xml = `<testsuites>
      <testsuite name="./a_test.ts"><testcase name="grp" classname="./a_test.ts">
      <failure message="1 test step failed">x</failure></testcase></testsuite>
      <testsuite name="ext:deno_node/testing.ts">
      <testcase name="grp &gt; breaks" classname="ext:deno_node/testing.ts">
      <failure message="AssertionError: bad

  1 !== 2
">boom</failure></testcase>
      <testcase name="grp &gt; holds" classname="ext:deno_node/testing.ts"></testcase>
      </testsuite></testsuites>`;
    assert.deepEqual(failures([xml]), [{
      name: "grp > breaks",
      file: "./a_test.ts",
      message: "AssertionError: bad 1 !== 2",
    }]);
  });

  // Deno 2.9.6's report of a describe whose after hook threw: the describe
  // failed, its only test passed.
  const hookFailed = `<testsuites>
    <testsuite name="./c_test.ts" tests="1" failures="1">
    <testcase name="after fails" classname="./c_test.ts" time="0.010">
    <failure message="Uncaught Error: after boom">Error: after boom</failure>
    </testcase></testsuite>
    <testsuite name="ext:deno_node/testing.ts" tests="1" failures="0">
    <testcase name="after fails &gt; child ok" classname="ext:deno_node/testing.ts" time="0.000">
    </testcase></testsuite></testsuites>`;

  it("counts a describe that failed while every test in it passed (its hook threw) as a failure, and names it", () => {
    assert.deepEqual(summarize([hookFailed]), {
      passed: 1,
      failed: 1,
      skipped: 0,
    });
    assert.deepEqual(failures([hookFailed]), [{
      name: "after fails",
      file: "./c_test.ts",
      message: "Uncaught Error: after boom",
    }]);
    assert.equal(report([hookFailed]).ok, false);
  });

  it("fails, naming why, when deno test failed but its report names no failed test", () => {
    // A test module that throws while loading is not in the report at all.
    const clean = `<testsuites><testsuite name="./a_test.ts">
      <testcase name="a" classname="./a_test.ts"></testcase></testsuite></testsuites>`;
    assert.deepEqual(report([clean], { status: 0 }), {
      lines: ["deno: 1 passed, 0 failed, 0 skipped"],
      ok: true,
    });
    const failed = report([clean], { status: 1 });
    assert.equal(failed.ok, false);
    assert.deepEqual(failed.lines, [
      'FAILED: deno test exited with status 1 and its report names no failed test: an error outside every test (look for "Uncaught error from" above)',
      "deno: 1 passed, 0 failed, 0 skipped",
    ]);
  });

  it("does not name the exit status again when the report has the failure", () => {
    const xml =
      `<testcase name="a" classname="./a_test.ts"><failure message="boom">x</failure></testcase>`;
    assert.deepEqual(report([xml], { status: 1 }).lines, [
      "FAILED: ./a_test.ts => a: boom",
      "deno: 0 passed, 1 failed, 0 skipped",
    ]);
  });
});
