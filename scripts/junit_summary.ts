/**
 * Prints `deno: N passed, N failed, N skipped` from a JUnit report written by
 * `deno test --junit-path`.
 *
 * Deno reports a `describe` block as a test case of its own and its `it`s as
 * cases named `describe > it`; only the leaves are counted, so each test is
 * counted once. Exits non-zero when any test failed or none ran.
 *
 * Usage: `deno run --allow-read scripts/junit_summary.ts report.xml [...]`
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
  const cases: Case[] = [];
  const pattern = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const xml of reports) {
    for (const match of xml.matchAll(pattern)) {
      const name = /\bname="([^"]*)"/.exec(match[1]);
      const body = match[3] ?? "";
      cases.push({
        name: unescape(name?.[1] ?? ""),
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
  const summary: Summary = { passed: 0, failed: 0, skipped: 0 };
  for (const c of cases) {
    if (parents.has(c.name)) continue;
    if (c.failed) summary.failed++;
    else if (c.skipped) summary.skipped++;
    else summary.passed++;
  }
  return summary;
}

if (import.meta.main) {
  const files = args();
  if (files.length === 0) {
    console.error("Usage: junit_summary.ts REPORT.xml [...]");
    exit(2);
  }
  const reports = await Promise.all(files.map((f) => readFile(f, "utf8")));
  const s = summarize(reports);
  console.log(
    `deno: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`,
  );
  if (s.failed > 0 || s.passed === 0) exit(1);
}
