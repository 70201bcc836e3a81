import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { failoverSvg } from "../../bench/_failover_svg.ts";

describe("failover SVG chart", () => {
  it("draws one dot per sample, ours left of a slower baseline, with escaped labels", () => {
    const svg = failoverSvg([
      {
        label: "kill -9 <scaled>",
        ours: [500, 600],
        baseline: [2000, 2500, 3000],
      },
    ]);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes("kill -9 &lt;scaled>"));
    const dots = [
      ...svg.matchAll(
        /<circle cx="([\d.]+)" cy="[\d.]+" r="3\.5" fill="(#[0-9a-f]+)"/g,
      ),
    ];
    const ours = dots.filter((d) => d[2] === "#1f77b4").map((d) =>
      Number(d[1])
    );
    const base = dots.filter((d) => d[2] === "#d62728").map((d) =>
      Number(d[1])
    );
    assert.equal(ours.length, 2);
    assert.equal(base.length, 3);
    assert.ok(Math.max(...ours) < Math.min(...base));
  });
});
