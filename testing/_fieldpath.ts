/**
 * Sets of field paths, as server-side apply tracks them: path elements
 * (`f:` a field, `k:` a list item by its keys, `v:` a set item by value,
 * `i:` an index), a tree of members and children, the set algebra the
 * field managers need, and the `FieldsV1` encoding of `managedFields`.
 *
 * @module
 */
import { isObject, type Json, type JsonObject } from "./_patch.ts";

/**
 * A path element in its `FieldsV1` form: `f:name`, `k:{"name":"x"}` (key
 * fields sorted by name), `v:"value"` or `i:0`. Equal elements have equal
 * strings, so the string is the element.
 */
export type PathElement = string;

/** Go's JSON encoding of a value (`<`, `>`, `&` escaped). */
export function goJson(value: Json): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The element of a struct or map field. */
export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

/** The element of a keyed list item: its key fields, sorted by name. */
export function keyElement(keys: [string, Json][]): PathElement {
  const sorted = [...keys].sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
  );
  return `k:{${sorted.map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(",")}}`;
}

/** The element of a set item. */
export function valueElement(value: Json): PathElement {
  return `v:${goJson(value)}`;
}

function rank(pe: PathElement): number {
  return "fkvi".indexOf(pe[0]);
}

/** The order of elements in a serialized set: fields, keys, values, indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  if (a[0] === "i") return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

function goString(value: Json): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(goString).join(",")}]`;
  if (isObject(value)) {
    return `{${
      Object.entries(value).map(([k, v]) => `${k}:${goString(v)}`).join(",")
    }}`;
  }
  return String(value);
}

/** A path element as conflict messages print it: `.name`, `[name="x"]`, `[="v"]`, `[0]`. */
export function elementText(pe: PathElement): string {
  const body = pe.slice(2);
  switch (pe[0]) {
    case "f":
      return `.${body}`;
    case "k": {
      const keys = JSON.parse(body) as JsonObject;
      return `[${
        Object.entries(keys).map(([k, v]) => `${k}=${goString(v)}`).join(",")
      }]`;
    }
    case "v":
      return `[=${goString(JSON.parse(body))}]`;
    default:
      return `[${body}]`;
  }
}

/** A path as conflict messages print it. */
export function pathText(path: PathElement[]): string {
  return path.map(elementText).join("");
}

/** A set of paths: the elements that are members here, and the sets below each child. */
export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  /** Adds a path. */
  insert(path: PathElement[]): void {
    if (path.length === 0) return;
    const parent = path.slice(0, -1).reduce(
      (node: FieldSet, pe) => node.descend(pe),
      this,
    );
    parent.members.add(path[path.length - 1]);
  }

  /** The child set of `pe`, made when missing. */
  descend(pe: PathElement): FieldSet {
    let child = this.children.get(pe);
    if (!child) {
      child = new FieldSet();
      this.children.set(pe, child);
    }
    return child;
  }

  /** Whether the set holds `path`. */
  has(path: PathElement[]): boolean {
    if (path.length === 0) return false;
    const parent = path.slice(0, -1).reduce(
      (node: FieldSet | undefined, pe) => node?.children.get(pe),
      this,
    );
    return parent?.members.has(path[path.length - 1]) ?? false;
  }

  /** The paths below `pe`, as a set relative to it (empty when none). */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(pe) ?? new FieldSet();
  }

  /** Whether the set holds no path. */
  empty(): boolean {
    if (this.members.size > 0) return false;
    for (const child of this.children.values()) {
      if (!child.empty()) return false;
    }
    return true;
  }

  /** A copy. */
  copy(): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const [pe, child] of this.children) out.children.set(pe, child.copy());
    return out;
  }

  /** The paths in either set. */
  union(other: FieldSet): FieldSet {
    const out = this.copy();
    for (const m of other.members) out.members.add(m);
    for (const [pe, child] of other.children) {
      const mine = out.children.get(pe);
      out.children.set(pe, mine ? mine.union(child) : child.copy());
    }
    return out;
  }

  /** The paths in both sets. */
  intersection(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const theirs = other.children.get(pe);
      if (!theirs) continue;
      const both = child.intersection(theirs);
      if (!both.empty()) out.children.set(pe, both);
    }
    return out;
  }

  /** The paths of this set that are not in `other`. */
  difference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      const theirs = other.children.get(pe);
      const rest = theirs ? child.difference(theirs) : child.copy();
      if (!rest.empty()) out.children.set(pe, rest);
    }
    return out;
  }

  /**
   * The paths of this set not in `other`, where a member of `other` takes
   * its whole subtree with it.
   */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!other.members.has(m)) out.members.add(m);
    for (const [pe, child] of this.children) {
      if (other.members.has(pe)) continue;
      const theirs = other.children.get(pe);
      const rest = theirs ? child.recursiveDifference(theirs) : child.copy();
      if (!rest.empty()) out.children.set(pe, rest);
    }
    return out;
  }

  /** Every path, in serialized order. */
  paths(prefix: PathElement[] = []): PathElement[][] {
    const out: PathElement[][] = [];
    const elements = new Set([...this.members, ...this.children.keys()]);
    for (const pe of [...elements].sort(compareElements)) {
      if (this.members.has(pe)) out.push([...prefix, pe]);
      const child = this.children.get(pe);
      if (child) out.push(...child.paths([...prefix, pe]));
    }
    return out;
  }

  /** The `FieldsV1` object. */
  toFieldsV1(): JsonObject {
    return this.#emit(false);
  }

  #emit(self: boolean): JsonObject {
    const out: JsonObject = {};
    if (self && (this.members.size > 0 || this.children.size > 0)) {
      out["."] = {};
    }
    const elements = new Set([...this.members, ...this.children.keys()]);
    for (const pe of [...elements].sort(compareElements)) {
      const child = this.children.get(pe);
      out[pe] = child && !child.empty()
        ? child.#emit(this.members.has(pe))
        : {};
    }
    return out;
  }

  /** Reads a `FieldsV1` object; unknown element kinds are skipped, as the server does. */
  static fromFieldsV1(fields: Json | undefined): FieldSet {
    const out = new FieldSet();
    if (isObject(fields)) read(out, fields);
    return out;
  }
}

function read(into: FieldSet, fields: JsonObject): void {
  for (const [pe, value] of Object.entries(fields)) {
    if (pe === "." || !/^[fkvi]:/.test(pe)) continue;
    const element = canonical(pe);
    const inner = isObject(value) ? value : {};
    const keys = Object.keys(inner);
    if (keys.length === 0 || keys.includes(".")) into.members.add(element);
    if (keys.some((k) => k !== ".")) read(into.descend(element), inner);
  }
}

function canonical(pe: PathElement): PathElement {
  try {
    if (pe[0] === "k") {
      const keys = JSON.parse(pe.slice(2)) as JsonObject;
      return keyElement(Object.entries(keys));
    }
    if (pe[0] === "v") return valueElement(JSON.parse(pe.slice(2)));
  } catch {
    // Kept as written.
  }
  return pe;
}
