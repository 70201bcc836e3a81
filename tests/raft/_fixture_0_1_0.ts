/**
 * Files written by `FileStorage` of k8s-operator 0.1.0 (the unversioned
 * format, version 1), generated on `main` at a560a17 before the format got
 * a version:
 *
 * ```ts ignore
 * const s = await FileStorage.open(dir);
 * await s.save({ hardState: { term: 1, vote: 0, commit: 0 }, entries: [empty(1), e(2, 1, "a=1"), e(3, 1, "b=2")], snapshot: null });
 * await s.save({ hardState: { term: 1, vote: 0, commit: 3 }, entries: [e(4, 1, "c=3")], snapshot: null });
 * await s.compact({ metadata: { index: 3, term: 1, conf: { voters: [0, 1, 2], learners: [] } }, data: utf8('{"a":"1","b":"2"}') });
 * await s.save({ hardState: { term: 2, vote: 1, commit: 4 }, entries: [e(5, 2, "d=4"), e(6, 2, "e=5")], snapshot: null });
 * await s.save({ hardState: null, entries: [e(6, 2, "e=6"), e(7, 2, "f=7")], snapshot: null });
 * await s.close();
 * ```
 *
 * @module
 */
import type { PersistedState } from "../../raft/types.ts";

function base64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** `wal.log` as 0.1.0 left it. */
export const legacyWal: Uint8Array = base64(
  "V0FMMQAAABGXLXuLAUAIAAAAAAAAP/AAAAAAAABXQUwxAAAAHeCxVuACAAAAAT/wAAAAAAAA" +
    "QBAAAAAAAAAAAAAAA2M9M1dBTDEAAAAZqTEfXAM/8AAAAAAAAAAAAAAAAAAAQAgAAAAAAABX" +
    "QUwxAAAANcoN+bwCAAAAAkAAAAAAAAAAQBQAAAAAAAAAAAAAA2Q9NEAAAAAAAAAAQBgAAAAA" +
    "AAAAAAAAA2U9NVdBTDEAAAAZg5QUhANAAAAAAAAAAD/wAAAAAAAAQBAAAAAAAABXQUwxAAAA" +
    "NapdAdgCAAAAAkAAAAAAAAAAQBgAAAAAAAAAAAAAA2U9NkAAAAAAAAAAQBwAAAAAAAAAAAAA" +
    "A2Y9Nw==",
);

/** `snapshot.bin` as 0.1.0 left it. */
export const legacySnapshot: Uint8Array = base64(
  "V0FMMQAAAEZli7p8BEAIAAAAAAAAP/AAAAAAAAAAAAADAAAAAAAAAAA/8AAAAAAAAEAAAAAA" +
    "AAAAAAAAAAAAABF7ImEiOiIxIiwiYiI6IjIifQ==",
);

const utf8 = (text: string) => new TextEncoder().encode(text);

/** What 0.1.0 itself loaded back from these files. */
export const legacyState: PersistedState = {
  hardState: { term: 2, vote: 1, commit: 4 },
  snapshot: {
    metadata: { index: 3, term: 1, conf: { voters: [0, 1, 2], learners: [] } },
    data: utf8('{"a":"1","b":"2"}'),
  },
  entries: [
    { term: 1, index: 4, type: "normal", data: utf8("c=3") },
    { term: 2, index: 5, type: "normal", data: utf8("d=4") },
    { term: 2, index: 6, type: "normal", data: utf8("e=6") },
    { term: 2, index: 7, type: "normal", data: utf8("f=7") },
  ],
};
