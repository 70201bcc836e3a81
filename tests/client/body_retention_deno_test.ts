// Deno-only: the child runs with `--expose-gc` under `deno run`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const CHILD = new URL("./_body_retention_deno.ts", import.meta.url);

describe("KubeClient over a kubeconfig: a long response body", () => {
  it("keeps no chunk already read alive while the body stays open (a watch)", async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        fileURLToPath(CHILD),
        "200",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const out = new TextDecoder().decode(stdout).trim().split("\n").at(-1)!;
    const { read, alive } = JSON.parse(out);
    assert.ok(read >= 10, `Expected at least 10 reads, found ${read}`);
    // Before the fix each read raced the request's one failure promise,
    // whose reactions kept every chunk read alive until the body ended.
    assert.ok(
      alive <= 2,
      `Expected at most 2 of ${read} chunks read alive after GC, found ${alive}`,
    );
  });
});
