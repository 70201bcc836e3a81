import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { reportRow, reportSamples } from "../../bench/_report.ts";
import type { BenchRow } from "../../bench/_report.ts";
import { chartSvg } from "../../bench/_chart.ts";

describe("bench/_report.ts", () => {
  it("appends one JSON line per figure and distribution to BENCH_RESULTS", async () => {
    const dir = await mkdtemp(join(tmpdir(), "report-"));
    const file = join(dir, "results.jsonl");
    const before = process.env.BENCH_RESULTS;
    process.env.BENCH_RESULTS = file;
    try {
      reportRow({
        name: "failover p50",
        unit: "ms",
        ours: 500,
        baseline: 15000,
        baselineName: "Lease",
        better: "lower",
      });
      reportSamples({ name: "ours: failover", unit: "ms", samples: [1, 2] });
      const lines = (await readFile(file, "utf8")).trim().split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(lines, [
        {
          kind: "row",
          name: "failover p50",
          unit: "ms",
          ours: 500,
          baseline: 15000,
          baselineName: "Lease",
          better: "lower",
        },
        {
          kind: "samples",
          name: "ours: failover",
          unit: "ms",
          samples: [1, 2],
        },
      ]);
    } finally {
      if (before === undefined) delete process.env.BENCH_RESULTS;
      else process.env.BENCH_RESULTS = before;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("reportRow's checks", () => {
  for (
    const [what, row] of [
      ["an object as ours", { ours: { cpu: 1, wall: 2 } }],
      ["NaN as ours", { ours: NaN }],
      ["Infinity as the baseline", { ours: 1, baseline: Infinity }],
      ["a string as the baseline", { ours: 1, baseline: "2" }],
    ] as const
  ) {
    it(`refuses ${what}, naming the figure, and writes nothing`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "report-"));
      const file = join(dir, "results.jsonl");
      const before = process.env.BENCH_RESULTS;
      process.env.BENCH_RESULTS = file;
      try {
        assert.throws(
          () =>
            reportRow({
              name: "throughput",
              unit: "entries/s",
              better: "higher",
              ...row,
            } as unknown as BenchRow),
          (e: Error) =>
            e instanceof TypeError && /"throughput"/.test(e.message) &&
            /finite number/.test(e.message),
        );
        await assert.rejects(readFile(file, "utf8"), { code: "ENOENT" });
      } finally {
        if (before === undefined) delete process.env.BENCH_RESULTS;
        else process.env.BENCH_RESULTS = before;
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("bench/_chart.ts", () => {
  it("draws one labelled row per distribution, every sample a dot, names escaped", () => {
    const svg = chartSvg([
      { name: "ours: kill <-9> & wait", unit: "ms", samples: [400, 500, 600] },
      { name: "baseline: Lease", unit: "ms", samples: [15000, 16000] },
    ], { title: "Failover" });
    assert.ok(svg.startsWith("<svg "));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.ok(svg.includes("ours: kill &lt;-9&gt; &amp; wait (n=3)"));
    assert.ok(svg.includes("baseline: Lease (n=2)"));
    assert.equal(svg.match(/<circle /g)?.length, 5);
    assert.ok(!svg.includes("NaN"));
    assert.ok(svg.includes(">10 s<"), "a tick label on the log axis");
  });

  it("says so when there is nothing to draw", () => {
    const svg = chartSvg([], { title: "Failover" });
    assert.ok(svg.includes("no samples"));
    assert.ok(!svg.includes("<circle"));
  });
});
