import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { jsonLogger, withFields } from "../../common/log.ts";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: string[] = [];
  const logger = jsonLogger({
    level,
    write: (line) => lines.push(line),
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    fields: { pod: "op-0" },
  });
  return { lines, logger };
}

describe("jsonLogger", () => {
  it("writes one JSON object per line with time, level, message and fields", () => {
    const { lines, logger } = capture();
    logger.info("leading", { term: 3 });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0].includes("\n"));
    assert.deepEqual(JSON.parse(lines[0]), {
      time: "2026-01-02T03:04:05.006Z",
      level: "info",
      message: "leading",
      pod: "op-0",
      term: 3,
    });
  });

  it("drops lines below the level and keeps the others", () => {
    const { lines, logger } = capture("warn");
    logger.debug?.("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    assert.deepEqual(lines.map((l) => JSON.parse(l).level), ["warn", "error"]);
  });

  it("writes errors as name and message, bigints as strings, and survives cycles", () => {
    const { lines, logger } = capture("debug");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    logger.error("failed", { error: new RangeError("too big"), n: 10n });
    logger.warn("odd", { cyclic });
    const [failed, odd] = lines.map((l) => JSON.parse(l));
    assert.equal(failed.error, "RangeError: too big");
    assert.equal(failed.n, "10");
    assert.equal(odd.level, "warn");
    assert.equal(odd.message, "odd");
  });

  it("refuses an unknown level with a clear error", () => {
    assert.throws(
      () => jsonLogger({ level: "verbose" as "info" }),
      /Expected a log level of debug, info, warn or error, found "verbose"/,
    );
  });
});

describe("withFields", () => {
  it("adds fields to every line of any logger, the line's own fields winning", () => {
    const { lines, logger } = capture("debug");
    const log = withFields(logger, { controller: "widgets", term: 1 });
    log.debug?.("reconciled", { key: "default/a", term: 2 });
    log.error("failed");
    const [a, b] = lines.map((l) => JSON.parse(l));
    assert.equal(a.controller, "widgets");
    assert.equal(a.key, "default/a");
    assert.equal(a.term, 2);
    assert.equal(b.term, 1);
  });
});
