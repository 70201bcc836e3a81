/**
 * What differs between two runs of one scenario for reasons no client can
 * rely on — uids, resourceVersions, timestamps, generated names, continue
 * tokens, the order of managedFields entries written in different seconds
 * — replaced by stable placeholders, so that the rest can be compared.
 *
 * @module
 */

const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

type Value = unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The normaliser of one scenario on one plane: placeholders are numbered in order of first sight. */
export class Normaliser {
  #uids = new Map<string, string>();
  #names = new Map<string, string>();

  /** A reply body or watch event made comparable. */
  normalise(value: Value): Value {
    this.#learn(value);
    return this.#rewrite(value, "");
  }

  #learn(value: Value): void {
    if (Array.isArray(value)) {
      for (const v of value) this.#learn(v);
      return;
    }
    if (!isRecord(value)) return;
    const meta = value.metadata;
    if (isRecord(meta)) {
      if (typeof meta.uid === "string") this.#uid(meta.uid);
      if (
        typeof meta.generateName === "string" &&
        typeof meta.name === "string" &&
        meta.name.startsWith(meta.generateName) &&
        meta.name !== meta.generateName && !this.#names.has(meta.name)
      ) {
        this.#names.set(
          meta.name,
          `${meta.generateName}<generated-${this.#names.size + 1}>`,
        );
      }
    }
    for (const v of Object.values(value)) this.#learn(v);
  }

  /** A uid's placeholder, numbered at first sight (an owner's uid may come before its object). */
  #uid(uid: string): string {
    let placeholder = this.#uids.get(uid);
    if (!placeholder) {
      placeholder = `<uid-${this.#uids.size + 1}>`;
      this.#uids.set(uid, placeholder);
    }
    return placeholder;
  }

  #string(text: string): string {
    if (TIMESTAMP.test(text)) return "<time>";
    let out = text.replace(UID, (uid) => this.#uid(uid));
    for (const [name, placeholder] of this.#names) {
      if (out === name) return placeholder;
    }
    out = out.replace(/^10\.96\.\d+\.\d+$/, "<cluster-ip>");
    return out;
  }

  #rewrite(value: Value, key: string): Value {
    if (typeof value === "string") {
      if (key === "resourceVersion") return "<rv>";
      if (key === "continue" && value !== "") return "<continue>";
      return this.#string(value);
    }
    if (Array.isArray(value)) {
      const items = value.map((v) => this.#rewrite(v, ""));
      if (key === "managedFields") items.sort(byManager);
      return items;
    }
    if (!isRecord(value)) return value;
    const out: Record<string, Value> = {};
    for (const [k, v] of Object.entries(value)) {
      out[this.#string(k)] = this.#rewrite(v, k);
    }
    return out;
  }
}

function entryKey(entry: unknown): string {
  if (!isRecord(entry)) return "";
  return [entry.operation, entry.manager, entry.apiVersion, entry.subresource]
    .map((v) => String(v ?? "")).join("\u0000");
}

/** managedFields entries sort by time first on the server: seconds apart on one plane, the same second on the other. */
function byManager(a: unknown, b: unknown): number {
  const ka = entryKey(a);
  const kb = entryKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
