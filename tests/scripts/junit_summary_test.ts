import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { failures, summarize } from "../../scripts/junit_summary.ts";

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
});
