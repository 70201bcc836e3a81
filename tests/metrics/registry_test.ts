import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Counter, Gauge, Histogram } from "prom-client";
import { MetricsRegistry } from "../../metrics/mod.ts";
import { familyOf, parseExposition, value } from "./_exposition.ts";

describe("MetricsRegistry", () => {
  it("renders HELP and TYPE once per family, before its samples", async () => {
    const metrics = new MetricsRegistry();
    const counter = new Counter({
      name: "things_total",
      help: "Things.",
      labelNames: ["kind"],
      registers: [],
    });
    metrics.register(counter);
    counter.inc({ kind: "a" });
    counter.inc({ kind: "b" }, 2);
    const text = await metrics.render();
    const parsed = parseExposition(text);
    assert.equal(parsed.help.get("things_total"), "Things.");
    assert.equal(parsed.type.get("things_total"), "counter");
    assert.equal(value(parsed, "things_total", { kind: "a" }), 1);
    assert.equal(value(parsed, "things_total", { kind: "b" }), 2);
    for (const sample of parsed.samples) {
      assert.ok(parsed.type.has(familyOf(sample.name, parsed.type)));
    }
  });

  it("escapes quotes, backslashes and newlines in label values and help", async () => {
    const metrics = new MetricsRegistry();
    const gauge = new Gauge({
      name: "odd_labels",
      help: 'Help with a \\ backslash\nand "quotes".',
      labelNames: ["v"],
      registers: [],
    });
    metrics.register(gauge);
    const hostile = 'a"b\\c\nd}e,f="g"';
    gauge.set({ v: hostile }, 7);
    const text = await metrics.render();
    assert.ok(!text.includes("\nd}"), "a raw newline leaked into a label");
    const parsed = parseExposition(text);
    assert.equal(value(parsed, "odd_labels", { v: hostile }), 7);
    assert.equal(
      parsed.help.get("odd_labels"),
      'Help with a \\ backslash\nand "quotes".',
    );
  });

  it("renders histograms with cumulative buckets, +Inf, sum and count", async () => {
    const metrics = new MetricsRegistry();
    const histogram = new Histogram({
      name: "latency_seconds",
      help: "Latency.",
      buckets: [0.1, 1, 10],
      registers: [],
    });
    metrics.register(histogram);
    for (const v of [0.05, 0.5, 0.7, 5, 50]) histogram.observe(v);
    const parsed = parseExposition(await metrics.render());
    assert.equal(parsed.type.get("latency_seconds"), "histogram");
    const bucket = (le: string) =>
      value(parsed, "latency_seconds_bucket", { le });
    assert.deepEqual(
      ["0.1", "1", "10", "+Inf"].map(bucket),
      [1, 3, 4, 5],
    );
    assert.equal(value(parsed, "latency_seconds_count"), 5);
    assert.ok(Math.abs(value(parsed, "latency_seconds_sum")! - 56.25) < 1e-9);
  });

  it("adds default labels to every series", async () => {
    const metrics = new MetricsRegistry({ defaultLabels: { pod: "op-1" } });
    const counter = new Counter({ name: "x_total", help: "X.", registers: [] });
    metrics.register(counter);
    counter.inc();
    const parsed = parseExposition(await metrics.render());
    assert.equal(value(parsed, "x_total", { pod: "op-1" }), 1);
  });

  it("refuses a second metric of the same name and keeps the first", async () => {
    const metrics = new MetricsRegistry();
    const first = new Counter({ name: "dup_total", help: "A.", registers: [] });
    metrics.register(first);
    first.inc(3);
    assert.throws(() =>
      metrics.register(
        new Counter({ name: "dup_total", help: "B.", registers: [] }),
      )
    );
    const parsed = parseExposition(await metrics.render());
    assert.equal(value(parsed, "dup_total"), 3);
    assert.equal(parsed.help.get("dup_total"), "A.");
  });

  it("serves GET and HEAD with the exposition content type, refuses POST", async () => {
    const metrics = new MetricsRegistry();
    const counter = new Counter({ name: "y_total", help: "Y.", registers: [] });
    metrics.register(counter);
    const handler = metrics.handler();
    const get = await handler(new Request("http://localhost/metrics"));
    assert.equal(get.status, 200);
    assert.match(
      get.headers.get("content-type")!,
      /^text\/plain; version=0\.0\.4/,
    );
    assert.equal(value(parseExposition(await get.text()), "y_total"), 0);
    const head = await handler(
      new Request("http://localhost/metrics", { method: "HEAD" }),
    );
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    const post = await handler(
      new Request("http://localhost/metrics", { method: "POST" }),
    );
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });
});

describe("the exposition parser used by these tests", () => {
  it("rejects a raw newline in a label value and a bad escape", () => {
    assert.throws(() => parseExposition('m{a="x\ny"} 1\n'));
    assert.throws(() => parseExposition('m{a="x\\ty"} 1\n'));
    assert.throws(() => parseExposition("# TYPE m counter\n# TYPE m gauge\n"));
  });
});
