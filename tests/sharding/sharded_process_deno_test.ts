/**
 * Sharded controllers in three real processes (`deno run`, Raft over HTTP on
 * loopback) against the test API server; one replica is killed with
 * SIGKILL. Every object changed after the kill is reconciled by the two
 * left, and no two replicas' completed reconciles of one object overlap
 * (the records come from the processes' own files, on the system clock,
 * read through `testing/raft/wall_clock.ts`). Deno-only: the replicas run `deno run` on a `.ts` main.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configMaps } from "../controller/_server.ts";
import { wallClock } from "../../testing/raft/wall_clock.ts";
import { assertNoOverlap, type RunRecord } from "./_runs.ts";
import { createSites } from "./_records.ts";
import { startReplicas, TestApiServer } from "../../testing/mod.ts";

const OBJECTS = 30;

interface Run extends RunRecord {
  node: number;
  key: string;
  v: string;
  shard: number;
  start: number;
  end: number;
}

async function readRuns(dir: string): Promise<Run[]> {
  const runs: Run[] = [];
  for (const node of [0, 1, 2]) {
    const text = await readFile(join(dir, `${node}.jsonl`), "utf8").catch(
      () => "",
    );
    for (const line of text.split("\n")) {
      if (line !== "") runs.push(JSON.parse(line));
    }
  }
  return runs;
}

describe("sharded controllers in three processes", () => {
  let server: TestApiServer;
  let dir: string;
  before(async () => {
    server = await TestApiServer.start();
    dir = await mkdtemp(join(tmpdir(), "shard-runs-"));
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("share the objects, and after kill -9 of one the others reconcile its objects", async () => {
    const replicas = await startReplicas({
      controlPlane: server,
      main: new URL("./_sharded_main.ts", import.meta.url),
      env: { SHARD_RUNS_DIR: dir },
    });
    try {
      await createSites(replicas.client, OBJECTS);
      const done = (runs: Run[], v: string) =>
        new Set(runs.filter((r) => r.v === v).map((r) => r.key)).size ===
          OBJECTS;
      // The harness's waits (30 s) only bound the waiting.
      await replicas.waitFor(
        "every object reconciled",
        async () => done(await readRuns(dir), "1"),
      );
      let runs = await readRuns(dir);
      assert.equal(new Set(runs.map((r) => r.node)).size, 3);
      assertNoOverlap(runs);

      const victim = 1;
      await replicas.kill(victim);
      const killedAt = wallClock()();
      for (let i = 0; i < OBJECTS; i++) {
        await replicas.client.patch(configMaps, `site-${i}`, {
          data: { v: "2" },
        }, { namespace: "default" });
      }
      await replicas.waitFor(
        "every object reconciled by the two left",
        async () => done(await readRuns(dir), "2"),
      );
      runs = await readRuns(dir);
      const after = runs.filter((r) => r.v === "2");
      assert.ok(after.every((r) => r.node !== victim));
      assertNoOverlap(runs);
      const last = Math.max(...after.map((r) => r.start)) - killedAt;
      console.log(
        `objects of the killed replica reconciled again ${
          Math.round(last)
        } ms after the kill`,
      );
    } finally {
      await replicas.stop();
    }
  });
});
