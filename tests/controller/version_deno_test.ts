import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { VERSION } from "../../client/_version.ts";

describe("the version in the User-Agent", () => {
  it("equals deno.json's version", () => {
    const denoJson = JSON.parse(
      readFileSync(new URL("../../deno.json", import.meta.url), "utf8"),
    ) as { version: string };
    assert.equal(VERSION, denoJson.version);
  });
});
