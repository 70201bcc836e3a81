import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  KILL_GOAL_MS,
  parseShardingResults,
  type ShardingResults,
  shardingSvg,
} from "../../bench/_sharding_svg.ts";

const results: ShardingResults = {
  version: 2,
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
  kill: [
    {
      role: "follower",
      replicas: 3,
      killed: [600, 700, 800],
      others: [5, 6],
      electionMs: null,
      grantsMs: [550, 560],
    },
    {
      role: "leader",
      replicas: 3,
      killed: [1100, 1200],
      others: [40],
      electionMs: 400,
      grantsMs: [1000],
    },
  ],
};

/** The chart's time axis: log scale from 1 ms (x 250) to 10 s (x 720). */
const logX = (ms: number) => 250 + Math.log10(ms) / 4 * 470;

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

  it("draws one dot per kill sample, the killed replica's objects right of the others', per role", () => {
    const svg = shardingSvg(results);
    const dots = [
      ...svg.matchAll(
        /<circle cx="([\d.]+)" cy="([\d.]+)" r="3" fill="(#[0-9a-f]+)"/g,
      ),
    ];
    const red = dots.filter((d) => d[3] === "#d62728").map((d) => Number(d[1]));
    const blue = dots.filter((d) => d[3] === "#1f77b4").map((d) =>
      Number(d[1])
    );
    assert.equal(red.length, 5);
    assert.equal(blue.length, 3);
    assert.ok(Math.min(...red) > Math.max(...blue));
    assert.ok(svg.includes("3 replicas, follower: killed's (n=3)"));
    assert.ok(svg.includes("3 replicas, leader: killed's (n=2)"));
    assert.ok(svg.includes("3 replicas, leader: others' (n=1)"));
    // The leader's row sits below the follower's.
    const rowOf = (ms: number) =>
      Number(dots.find((d) => d[1] === logX(ms).toFixed(1))![2]);
    assert.ok(rowOf(1100) > rowOf(800) + 50, `${rowOf(1100)} ${rowOf(800)}`);
  });

  it("marks each killed replica's row with its goal: 1 s for a follower, 1.5 s for the leader", () => {
    const svg = shardingSvg(results);
    const ticks = [
      ...svg.matchAll(
        /<line x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)" stroke="#888" stroke-width="2" stroke-dasharray="3,2"\/>/g,
      ),
    ].filter((m) => Number(m[3]) - Number(m[2]) === 28);
    assert.equal(ticks.length, 2);
    const [follower, leader] = ticks.map((m) => Number(m[1]));
    assert.equal(follower, logX(1000));
    assert.ok(Math.abs(leader - logX(1500)) < 0.1, `${leader}`);
    assert.deepEqual(KILL_GOAL_MS, { follower: 1_000, leader: 1_500 });
  });

  it("refuses results of another version, without runs or with a kill of no role, naming what it found", () => {
    assert.throws(
      () => parseShardingResults({ ...results, version: 1 }),
      /Expected sharding results of version 2, found 1/,
    );
    assert.throws(
      () =>
        parseShardingResults({
          version: 2,
          drain: [{ replicas: 3 }],
          kill: [],
        }),
      /Expected every drain run to have replicas and perSecond/,
    );
    assert.throws(
      () =>
        parseShardingResults({
          ...results,
          kill: [{ replicas: 3, killed: [1], others: [1] }],
        }),
      /Expected every kill to have a role \(follower or leader\) and its latencies, found \{"replicas":3/,
    );
    const parsed = parseShardingResults(JSON.parse(JSON.stringify(results)));
    assert.equal(parsed.drain.length, 3);
    assert.deepEqual(parsed.kill.map((k) => k.role), ["follower", "leader"]);
  });
});
