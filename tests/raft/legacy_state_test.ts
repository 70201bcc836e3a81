/**
 * State written by k8s-operator 0.1.0 (memberships without incarnations) is
 * refused with an error naming both formats, and `FileStorage.setAside`
 * moves it out of the way so the node joins as a new member.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FileStorage,
  KeyValueStore,
  LegacyStateError,
  RaftCore,
  RaftNode,
} from "../../raft/mod.ts";
import { legacyStateReason } from "../../raft/_validate.ts";
import type { Entry, PersistedState } from "../../raft/types.ts";
import { legacySnapshot, legacyState, legacyWal } from "./_fixture_0_1_0.ts";
import { bootstrapEntry, memberState } from "../../testing/raft/cores.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

function entry(index: number, type: Entry["type"], data = ""): Entry {
  return { index, term: 1, type, data: utf8(data) };
}

const empty: PersistedState = {
  hardState: { term: 0, vote: null, commit: 0 },
  snapshot: null,
  entries: [],
};

describe("state of k8s-operator 0.1.0", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "raft-legacy-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function legacyDir(name: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d);
    await writeFile(join(d, "wal.log"), legacyWal);
    await writeFile(join(d, "snapshot.bin"), legacySnapshot);
    return d;
  }

  it("is told apart from state of this version", () => {
    assert.match(
      legacyStateReason(legacyState)!,
      /^a snapshot \(index 3\) whose membership has no incarnation for voters 0, 1, 2$/,
    );
    assert.match(
      legacyStateReason({
        ...empty,
        hardState: { term: 1, vote: 0, commit: 2 },
        entries: [entry(1, "empty"), entry(2, "normal", "a=1")],
      })!,
      /^a log that does not begin with the cluster's membership/,
    );
    const bootstrap = bootstrapEntry({ voters: [0, 1, 2], learners: [] });
    assert.match(
      legacyStateReason({
        ...empty,
        hardState: { term: 1, vote: 0, commit: 2 },
        entries: [
          bootstrap,
          entry(2, "confChange", '{"type":"addLearner","nodeId":3}'),
        ],
      })!,
      /^a membership change \(entry 2\) of format 1$/,
    );
    // A term and a vote alone: the node runs on them as a new member.
    assert.equal(
      legacyStateReason({
        ...empty,
        hardState: { term: 4, vote: 1, commit: 0 },
      }),
      null,
    );
    assert.equal(legacyStateReason(empty), null);
    assert.equal(
      legacyStateReason(memberState(0, { voters: [0, 1, 2], learners: [] })),
      null,
    );
  });

  it("is refused by the core and by RaftNode.start, naming both formats", async () => {
    assert.throws(
      () =>
        new RaftCore({
          id: 0,
          state: legacyState,
          bootstrap: { voters: [0, 1, 2], learners: [] },
          random: () => 0.5,
        }),
      (error: unknown) =>
        error instanceof LegacyStateError &&
        /format 2 \(k8s-operator 0\.2/.test(error.message) &&
        /format 1 \(k8s-operator 0\.1\.0\)/.test(error.message),
    );
    // Before: the state machine read the snapshot first and failed with
    // KvFormatError, naming neither format.
    const storage = await FileStorage.open(await legacyDir("refused"));
    try {
      await assert.rejects(
        RaftNode.start({
          id: 0,
          storage,
          bootstrap: { voters: [0, 1, 2], learners: [] },
          stateMachine: new KeyValueStore(),
          send: () => {},
        }),
        (error: unknown) =>
          error instanceof LegacyStateError &&
          /FileStorage\.setAside/.test(error.message),
      );
    } finally {
      await storage.close();
    }
  });

  it("is set aside whole, and the node then starts as a new member", async () => {
    const d = await legacyDir("aside");
    const aside = await FileStorage.setAside(d, "k8s-operator-0.1.0");
    assert.equal(aside, join(d, "k8s-operator-0.1.0"));
    assert.deepEqual((await readdir(d)).sort(), ["k8s-operator-0.1.0"]);
    // The files went whole: they still open where they went.
    const old = await FileStorage.open(aside);
    assert.deepEqual(old.load().hardState, legacyState.hardState);
    assert.deepEqual(old.load().entries, legacyState.entries);
    await old.close();

    const storage = await FileStorage.open(d);
    assert.deepEqual(storage.load(), empty);
    const node = await RaftNode.start({
      id: 0,
      storage,
      bootstrap: { voters: [0], learners: [] },
      stateMachine: new KeyValueStore(),
      send: () => {},
      tickMs: 5,
    });
    try {
      // Alone in its bootstrap membership, it bootstraps a new cluster.
      await new Promise<void>((resolve) => {
        if (node.status().role === "leader") return resolve();
        const off = node.onRoleChange((change) => {
          if (change.role !== "leader") return;
          off();
          resolve();
        });
      });
      assert.deepEqual(node.status().conf.voters, [0]);
    } finally {
      await node.stop();
      await storage.close();
    }
    // A second set-aside does not overwrite the first.
    assert.equal(
      await FileStorage.setAside(d, "k8s-operator-0.1.0"),
      join(d, "k8s-operator-0.1.0-2"),
    );
    await assert.rejects(FileStorage.setAside(d, "../x"), TypeError);
  });
});
