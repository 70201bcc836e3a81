/**
 * Watch streams: newline-delimited JSON events (`ADDED`, `MODIFIED`,
 * `DELETED`, `BOOKMARK`, `ERROR`) filtered by namespace and selectors, with
 * periodic bookmarks, timeouts, pausing and forced closes for fault
 * injection.
 *
 * @module
 */
import type { ChangeType, StoredObject, StoreEvent } from "./_store.ts";
import type { StatusObject } from "./_status.ts";

/** What one watch asks for. */
export interface WatchSpec {
  table: string;
  /** The resource's plural, as faults name it. */
  resource: string;
  namespace?: string;
  matches: (obj: StoredObject) => boolean;
  bookmarks: boolean;
  /** The apiVersion and kind objects and bookmarks carry. */
  apiVersion: string;
  kind: string;
  /** Built-in kinds' bookmarks carry `creationTimestamp: null`, as Go writes them. */
  builtin?: boolean;
  /** The list kind, for the blueprint of the initial-events-end bookmark. */
  listKind?: string;
  timeoutMs?: number;
}

const encoder = new TextEncoder();

/** Renders an object for a requested apiVersion, reusing a cached JSON text. */
export function renderObject(obj: StoredObject, apiVersion: string): string {
  if (obj.apiVersion === apiVersion) return jsonOf(obj);
  return JSON.stringify({ ...obj, apiVersion });
}

const jsonCache = new WeakMap<StoredObject, string>();

/** The JSON text of a stored (immutable) object, computed once. */
export function jsonOf(obj: StoredObject): string {
  let text = jsonCache.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    jsonCache.set(obj, text);
  }
  return text;
}

const lineCache = new WeakMap<StoredObject, Map<string, Uint8Array>>();

/**
 * The encoded watch line for a change: computed once per object, type and
 * apiVersion, then shared by every watch that sends it.
 */
function changeLine(
  type: ChangeType,
  obj: StoredObject,
  apiVersion: string,
): Uint8Array {
  let lines = lineCache.get(obj);
  if (!lines) {
    lines = new Map();
    lineCache.set(obj, lines);
  }
  const key = `${type}|${apiVersion}`;
  let line = lines.get(key);
  if (!line) {
    line = encoder.encode(
      `{"type":"${type}","object":${renderObject(obj, apiVersion)}}\n`,
    );
    lines.set(key, line);
  }
  return line;
}

function concatChunks(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

class Watcher {
  readonly spec: WatchSpec;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #buffer: Uint8Array[] = [];
  #scheduled = false;
  #hub: WatchHub;
  #timer: ReturnType<typeof setTimeout> | undefined;
  closed = false;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(hub: WatchHub, spec: WatchSpec) {
    this.#hub = hub;
    this.spec = spec;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.closed = true;
        this.#cleanup();
      },
    });
    if (spec.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => this.close(), spec.timeoutMs);
    }
  }

  send(line: Uint8Array): void {
    if (this.closed) return;
    this.#buffer.push(line);
    if (!this.#scheduled && !this.#hub.paused) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.closed || this.#hub.paused || this.#buffer.length === 0) return;
    const chunk = concatChunks(this.#buffer);
    this.#buffer = [];
    try {
      this.#controller?.enqueue(chunk);
    } catch {
      this.closed = true;
      this.#cleanup();
    }
  }

  sendChange(type: ChangeType, obj: StoredObject): void {
    this.send(changeLine(type, obj, this.spec.apiVersion));
  }

  sendBookmark(rv: number, initialEventsEnd = false): void {
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (this.spec.builtin) metadata.creationTimestamp = null;
    if (initialEventsEnd) {
      const blueprint = this.spec.builtin
        ? {
          kind: this.spec.listKind,
          apiVersion: this.spec.apiVersion,
          metadata: {},
          items: null,
        }
        : {
          apiVersion: this.spec.apiVersion,
          items: [],
          kind: this.spec.listKind,
        };
      metadata.annotations = {
        "k8s.io/initial-events-end": "true",
        "kubernetes.io/initial-events-list-blueprint": btoa(
          JSON.stringify(blueprint) + "\n",
        ),
      };
    }
    const object = {
      kind: this.spec.kind,
      apiVersion: this.spec.apiVersion,
      metadata,
    };
    this.send(
      encoder.encode(JSON.stringify({ type: "BOOKMARK", object }) + "\n"),
    );
  }

  sendError(status: StatusObject): void {
    this.send(
      encoder.encode(JSON.stringify({ type: "ERROR", object: status }) + "\n"),
    );
  }

  /** Ends the stream after what was sent; `abort` breaks it instead. */
  close(abort = false): void {
    if (this.closed) return;
    if (!abort) this.flush();
    this.closed = true;
    this.#cleanup();
    try {
      if (abort) this.#controller?.error(new Error("watch aborted"));
      else this.#controller?.close();
    } catch {
      // The client went away first.
    }
  }

  #cleanup(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#hub.forget(this);
  }
}

/** Which open watches a fault applies to. */
export interface WatchFilter {
  resource?: string;
  namespace?: string;
}

/** The open watches. */
export class WatchHub {
  #byTable = new Map<string, Set<Watcher>>();
  #bookmarkTimer: ReturnType<typeof setInterval> | undefined;
  readonly bookmarkIntervalMs: number;
  #currentRv: () => number;
  paused = false;

  constructor(
    options: { bookmarkIntervalMs: number; currentRv: () => number },
  ) {
    this.bookmarkIntervalMs = options.bookmarkIntervalMs;
    this.#currentRv = options.currentRv;
  }

  /** How many watches are open. */
  get size(): number {
    let n = 0;
    for (const set of this.#byTable.values()) n += set.size;
    return n;
  }

  /**
   * Opens a watch: `existing` objects are sent first as ADDED (with
   * `initialEventsEnd`, then a bookmark saying so), then the
   * `replay` events from history, then live changes. With `expired`, sends
   * one ERROR event with that Status and closes.
   */
  open(
    spec: WatchSpec,
    start: {
      existing?: StoredObject[];
      replay?: StoreEvent[];
      expired?: StatusObject;
      /** After `existing`, a bookmark at this resourceVersion marks their end (`sendInitialEvents`). */
      initialEventsEnd?: number;
    },
  ): ReadableStream<Uint8Array> {
    const watcher = new Watcher(this, spec);
    if (start.expired) {
      watcher.sendError(start.expired);
      watcher.close();
      return watcher.stream;
    }
    for (const obj of start.existing ?? []) {
      if (spec.matches(obj)) watcher.sendChange("ADDED", obj);
    }
    if (start.initialEventsEnd !== undefined && spec.bookmarks) {
      watcher.sendBookmark(start.initialEventsEnd, true);
    }
    for (const event of start.replay ?? []) this.#deliver(watcher, event);
    let set = this.#byTable.get(spec.table);
    if (!set) {
      set = new Set();
      this.#byTable.set(spec.table, set);
    }
    set.add(watcher);
    if (spec.bookmarks) this.#ensureBookmarkTimer();
    return watcher.stream;
  }

  /** Sends a store change to the watches of its table. */
  dispatch(event: StoreEvent): void {
    const set = this.#byTable.get(event.table);
    if (!set) return;
    for (const watcher of set) this.#deliver(watcher, event);
  }

  #deliver(watcher: Watcher, event: StoreEvent): void {
    const spec = watcher.spec;
    const ns = event.object.metadata.namespace;
    if (spec.namespace !== undefined && ns !== spec.namespace) return;
    const now = spec.matches(event.object);
    if (event.type !== "MODIFIED" || !event.previous) {
      if (now) watcher.sendChange(event.type, event.object);
      return;
    }
    const before = spec.matches(event.previous);
    if (now && before) watcher.sendChange("MODIFIED", event.object);
    else if (now) watcher.sendChange("ADDED", event.object);
    else if (before) {
      const gone = structuredClone(event.previous);
      gone.metadata.resourceVersion = String(event.rv);
      watcher.sendChange("DELETED", gone);
    }
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that asked for them. */
  bookmark(): void {
    const rv = this.#currentRv();
    for (const set of this.#byTable.values()) {
      for (const watcher of set) {
        if (watcher.spec.bookmarks) watcher.sendBookmark(rv);
      }
    }
  }

  /**
   * Closes matching watches; with `error`, each first gets an ERROR event
   * carrying it; with `abort`, the connection breaks mid-stream instead.
   * Returns how many were closed.
   */
  close(
    filter: WatchFilter,
    how: { error?: StatusObject; abort?: boolean } = {},
  ): number {
    let n = 0;
    for (const set of this.#byTable.values()) {
      for (const watcher of [...set]) {
        if (
          filter.resource !== undefined &&
          watcher.spec.resource !== filter.resource
        ) {
          continue;
        }
        if (
          filter.namespace !== undefined &&
          watcher.spec.namespace !== filter.namespace
        ) continue;
        if (how.error) watcher.sendError(how.error);
        watcher.close(how.abort ?? false);
        n++;
      }
    }
    return n;
  }

  /** Holds back delivery until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what was held back. */
  resume(): void {
    this.paused = false;
    for (const set of this.#byTable.values()) {
      for (const watcher of set) watcher.flush();
    }
  }

  /** Forgets a closed watcher. */
  forget(watcher: Watcher): void {
    const set = this.#byTable.get(watcher.spec.table);
    set?.delete(watcher);
    if (set?.size === 0) this.#byTable.delete(watcher.spec.table);
    if (this.size === 0 && this.#bookmarkTimer !== undefined) {
      clearInterval(this.#bookmarkTimer);
      this.#bookmarkTimer = undefined;
    }
  }

  #ensureBookmarkTimer(): void {
    if (this.#bookmarkTimer !== undefined || this.bookmarkIntervalMs <= 0) {
      return;
    }
    this.#bookmarkTimer = setInterval(
      () => this.bookmark(),
      this.bookmarkIntervalMs,
    );
  }
}
