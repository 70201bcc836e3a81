// Deno-only: the child runs with `--expose-gc` under `deno run`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runGcChild } from "../_gc_child_deno.ts";

const CHILD = new URL("./_body_retention_deno.ts", import.meta.url);

describe("KubeClient over a kubeconfig: a long response body", () => {
  it("keeps no chunk already read alive while the body stays open (a watch)", async () => {
    const { read, alive } = await runGcChild<{ read: number; alive: number }>(
      CHILD,
      200,
    );
    assert.ok(read >= 10, `Expected at least 10 reads, found ${read}`);
    // Before the fix each read raced the request's one failure promise,
    // whose reactions kept every chunk read alive until the body ended.
    assert.ok(
      alive <= 2,
      `Expected at most 2 of ${read} chunks read alive after GC, found ${alive}`,
    );
  });
});
