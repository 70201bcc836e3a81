// Deno-only: the Node platform's server (platform.node.ts) races no
// long-lived promise per request.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runGcChild } from "../_gc_child_deno.ts";

const CHILD = new URL("./_serve_retention_deno.ts", import.meta.url);
const REQUESTS = 200;

describe("platform: Deno serve() memory", () => {
  it("keeps no answered request's response alive while the server runs", async () => {
    const { served, alive } = await runGcChild<
      { served: number; alive: number }
    >(CHILD, REQUESTS);
    assert.equal(served, REQUESTS);
    // Before the fix every one of them stayed alive (each request added a
    // reaction to the server's one shutdown promise); the last one or two
    // may still be held by the runtime's connection bookkeeping.
    assert.ok(
      alive <= 2,
      `Expected at most 2 of ${served} answered responses alive after GC, found ${alive}`,
    );
  });
});
