import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  parseShardingResults,
  type ShardingResults,
  shardingSvg,
} from "../../bench/_sharding_svg.ts";

const results: ShardingResults = {
  version: 1,
  date: "2026-12-05T21:00:00.000Z",
  objects: 100,
  waitMs: 50,
  workers: 4,
  drain: [
    {
      mode: "leader-only",
      replicas: 3,
      seconds: 10,
      perSecond: 10,
      calls: 100,
    },
    { mode: "sharded", replicas: 1, seconds: 10, perSecond: 10, calls: 100 },
    { mode: "sharded", replicas: 3, seconds: 4, perSecond: 25, calls: 100 },
  ],
  kill: [{ replicas: 3, killed: [600, 700, 800], others: [5, 6] }],
};

describe("sharding SVG chart", () => {
  it("draws one bar per drain run, its width proportional to the rate, with the factor over leader-only", () => {
    const svg = shardingSvg(results);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const bars = [...svg.matchAll(/<rect x="250" y="[\d.]+" width="([\d.]+)"/g)]
      .map((m) => Number(m[1]));
    assert.equal(bars.length, 3);
    assert.ok(Math.abs(bars[2] / bars[0] - 2.5) < 0.01, `${bars}`);
    assert.ok(svg.includes("25 (2.50×)"));
    // The ideal of 3 replicas (30/s) is the widest thing: the scale's end.
    assert.ok(svg.includes('<line x1="720.0"'));
  });

  it("draws one dot per kill sample, the killed replica's objects right of the others'", () => {
    const svg = shardingSvg(results);
    const dots = [
      ...svg.matchAll(
        /<circle cx="([\d.]+)" cy="[\d.]+" r="3" fill="(#[0-9a-f]+)"/g,
      ),
    ];
    const red = dots.filter((d) => d[2] === "#d62728").map((d) => Number(d[1]));
    const blue = dots.filter((d) => d[2] === "#1f77b4").map((d) =>
      Number(d[1])
    );
    assert.equal(red.length, 3);
    assert.equal(blue.length, 2);
    assert.ok(Math.min(...red) > Math.max(...blue));
    assert.ok(svg.includes("3 replicas: killed's (n=3)"));
  });

  it("refuses results of another version or without runs, naming what it found", () => {
    assert.throws(
      () => parseShardingResults({ ...results, version: 2 }),
      /Expected sharding results of version 1, found 2/,
    );
    assert.throws(
      () =>
        parseShardingResults({
          version: 1,
          drain: [{ replicas: 3 }],
          kill: [],
        }),
      /Expected every drain run to have replicas and perSecond/,
    );
    assert.equal(
      parseShardingResults(JSON.parse(JSON.stringify(results))).drain.length,
      3,
    );
  });
});
