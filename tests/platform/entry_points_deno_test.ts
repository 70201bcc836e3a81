// Deno-only: it reads the TypeScript entry points named by deno.json,
// which the npm build does not ship.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

describe("every entry point", () => {
  it("imports the runtime check before anything else", async () => {
    const config = JSON.parse(
      await readFile(new URL("../../deno.json", import.meta.url), "utf8"),
    ) as { exports: Record<string, string> };
    const entries = Object.values(config.exports);
    assert.ok(entries.length >= 7);
    for (const entry of entries) {
      const text = await readFile(
        new URL(`../../${entry}`, import.meta.url),
        "utf8",
      );
      const first = /^(?:import|export)\b.*$/m.exec(text)?.[0];
      assert.match(
        first ?? "",
        /^import "\.\.?\/(platform\/)?check_runtime\.ts";$/,
        `${entry}: the first import`,
      );
    }
  });
});
