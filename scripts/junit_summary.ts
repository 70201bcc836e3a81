/**
 * Prints `deno: N passed, N failed, N skipped` from a JUnit report written by
 * `deno test --junit-path`.
 *
 * Deno reports a `describe` block as a test case of its own and its `it`s as
 * cases named `describe > it`; only the leaves are counted, so each test is
 * counted once. A `describe` that failed while none of its tests did (its
 * `before` or `after` hook threw) counts as one failure. Exits non-zero when
 * any test failed or none ran.
 *
 * `--status=N` is the exit status of the `deno test` run that wrote the
 * report: an error outside every test (a test module that throws while
 * loading, an uncaught error between tests) fails the run without a case
 * in the report, and is then named as a failure of its own.
 *
 * Usage: `deno run --allow-read scripts/junit_summary.ts [--status=N] report.xml [...]`
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { args, exit } from "../platform/mod.ts";

/** The counts of one or more JUnit reports. */
export interface Summary {
  /** Leaf test cases that passed. */
  passed: number;
  /** Leaf test cases that failed or errored. */
  failed: number;
  /** Leaf test cases that were skipped (ignored). */
  skipped: number;
}

interface Case {
  name: string;
  file: string;
  message: string;
  failed: boolean;
  skipped: boolean;
}

function unescape(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"').replaceAll("&apos;", "'")
    .replaceAll("&amp;", "&");
}

/**
 * Counts the leaf test cases of a JUnit XML report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const xml = '<testsuites><testsuite><testcase name="a"></testcase>' +
 *   '<testcase name="a &gt; b"><skipped/></testcase></testsuite></testsuites>';
 * assert.deepEqual(summarize([xml]), { passed: 0, failed: 0, skipped: 1 });
 * ```
 */
export function summarize(reports: string[]): Summary {
  const { passed, failed, skipped } = leaves(reports);
  return { passed, failed: failed.length, skipped };
}

/** A leaf test case that failed: its name, file and message. */
export interface Failure {
  /** The test's full name, `describe > it`. */
  name: string;
  /** The file it is in (the report's `classname`), or "". */
  file: string;
  /** Its failure message on one line (at most 300 characters), or "". */
  message: string;
}

/**
 * The failed leaf test cases of JUnit XML reports, so a log whose tail is all
 * one reads still names what failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const xml = '<testsuites><testsuite><testcase name="a" classname="x.ts">' +
 *   '<failure message="boom">boom</failure></testcase></testsuite></testsuites>';
 * assert.deepEqual(failures([xml]), [{ name: "a", file: "x.ts", message: "boom" }]);
 * ```
 */
export function failures(reports: string[]): Failure[] {
  return leaves(reports).failed.map(({ name, file, message }) => ({
    name,
    file,
    message,
  }));
}

function leaves(
  reports: string[],
): { passed: number; failed: Case[]; skipped: number } {
  const cases: Case[] = [];
  const pattern = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const xml of reports) {
    for (const match of xml.matchAll(pattern)) {
      const name = /\bname="([^"]*)"/.exec(match[1]);
      const file = /\bclassname="([^"]*)"/.exec(match[1]);
      const body = match[3] ?? "";
      const message = /<(?:failure|error)\b[^>]*?message="([^"]*)"/.exec(body);
      cases.push({
        name: unescape(name?.[1] ?? ""),
        file: unescape(file?.[1] ?? ""),
        message: unescape(message?.[1] ?? "").replace(/\s+/g, " ").trim()
          .slice(0, 300),
        failed: /<(failure|error)\b/.test(body),
        skipped: /<skipped\b/.test(body),
      });
    }
  }
  const parents = new Set<string>();
  for (const c of cases) {
    const parts = c.name.split(" > ");
    for (let i = 1; i < parts.length; i++) {
      parents.add(parts.slice(0, i).join(" > "));
    }
  }
  // node:test leaves are reported from Deno's own module; their file is the
  // one of the top-level case they belong to.
  const files = new Map<string, string>();
  for (const c of cases) {
    if (!c.file.startsWith("ext:")) files.set(c.name, c.file);
  }
  for (const c of cases) {
    if (c.file.startsWith("ext:")) {
      c.file = files.get(c.name.split(" > ")[0]) ?? c.file;
    }
  }
  const result = { passed: 0, failed: [] as Case[], skipped: 0 };
  for (const c of cases) {
    if (parents.has(c.name)) continue;
    if (c.failed) result.failed.push(c);
    else if (c.skipped) result.skipped++;
    else result.passed++;
  }
  // A container that failed with every test in it passing: its own hook
  // failed. It is named, or the run would look green.
  for (const c of cases) {
    if (!parents.has(c.name) || !c.failed) continue;
    const prefix = `${c.name} > `;
    if (!result.failed.some((f) => f.name.startsWith(prefix))) {
      result.failed.push(c);
    }
  }
  return result;
}

/** What the summary prints, and whether the run passed. */
export interface Report {
  /** `FAILED: ...` lines, then `deno: N passed, N failed, N skipped`. */
  lines: string[];
  /** No failure, at least one test passed, and `deno test` exited with 0. */
  ok: boolean;
}

/**
 * The lines the summary prints for JUnit reports, given the exit status of
 * the `deno test` run that wrote them (0 when not given). A non-zero status
 * with no failed case in the reports is named as a failure of its own: an
 * error outside every test fails the run without a case in the report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const xml = '<testsuites><testsuite><testcase name="a"></testcase></testsuite></testsuites>';
 * assert.deepEqual(report([xml]), { lines: ["deno: 1 passed, 0 failed, 0 skipped"], ok: true });
 * assert.equal(report([xml], { status: 1 }).ok, false);
 * ```
 */
export function report(
  reports: string[],
  options: { status?: number } = {},
): Report {
  const status = options.status ?? 0;
  const s = summarize(reports);
  const lines = failures(reports).map((f) =>
    `FAILED: ${f.file} => ${f.name}${f.message ? `: ${f.message}` : ""}`
  );
  if (status !== 0 && s.failed === 0) {
    lines.push(
      `FAILED: deno test exited with status ${status} and its report names no failed test: an error outside every test (look for "Uncaught error from" above)`,
    );
  }
  lines.push(
    `deno: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`,
  );
  return { lines, ok: s.failed === 0 && s.passed > 0 && status === 0 };
}

if (import.meta.main) {
  const flag = args().find((a) => a.startsWith("--status="));
  const files = args().filter((a) => a !== flag);
  const status = flag === undefined
    ? 0
    : Number(flag.slice("--status=".length));
  if (files.length === 0 || !Number.isInteger(status)) {
    console.error("Usage: junit_summary.ts [--status=N] REPORT.xml [...]");
    exit(2);
  }
  const reports = await Promise.all(files.map((f) => readFile(f, "utf8")));
  const { lines, ok } = report(reports, { status });
  for (const line of lines) console.log(line);
  if (!ok) exit(1);
}
