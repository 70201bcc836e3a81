/**
 * Values walked by their shape, the operations server-side apply is made
 * of (after sigs.k8s.io/structured-merge-diff): the set of fields a value
 * sets, the fields added, changed and removed between two values, the
 * merge of an applied configuration into a live object, and the removal of
 * a set of fields.
 *
 * @module
 */
import {
  fieldElement,
  FieldSet,
  keyElement,
  type PathElement,
  valueElement,
} from "./_fieldpath.ts";
import { deepEqual, isObject, type Json, type JsonObject } from "./_patch.ts";
import type { ListShape, Shape } from "./_types.ts";

/** A value that does not fit its shape (a keyed list item without its keys …). */
export class TypedValueError extends Error {
  constructor(path: PathElement[], message: string) {
    super(`${path.join(".") || "."}: ${message}`);
    this.name = "TypedValueError";
  }
}

type Kind = "list" | "map" | "scalar";

function kindOf(value: Json): Kind {
  if (Array.isArray(value)) return "list";
  if (isObject(value)) return "map";
  return "scalar";
}

function emptyValue(value: Json | undefined): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) return Object.keys(value).length === 0;
  return false;
}

/** The path element of a list item: by its keys, or by its value in a set. */
export function itemElement(
  list: ListShape,
  item: Json,
  path: PathElement[] = [],
): PathElement {
  if (list.type === "map") {
    if (!isObject(item)) {
      throw new TypedValueError(
        path,
        "associative list with keys may not have non-map elements",
      );
    }
    const pairs: [string, Json][] = [];
    for (const key of list.keys) {
      if (key in item) pairs.push([key, item[key]]);
      else if (key in list.keyDefaults) {
        pairs.push([key, list.keyDefaults[key]]);
      }
    }
    if (pairs.length === 0) {
      throw new TypedValueError(
        path,
        `associative list with keys has an element that omits all key fields ${
          JSON.stringify(list.keys)
        } (and doesn't have default values for any key fields)`,
      );
    }
    return keyElement(pairs);
  }
  if (isObject(item) || Array.isArray(item) || item === null) {
    throw new TypedValueError(
      path,
      "associative list without keys has an element that's not a scalar",
    );
  }
  return valueElement(item);
}

function elementsOf(
  list: ListShape,
  items: Json[],
  path: PathElement[],
): PathElement[] {
  return items.map((item) => itemElement(list, item, path));
}

/** The fields `value` sets, with the shape telling structs from maps and lists apart. */
export function toFieldSet(value: Json, shape: Shape): FieldSet {
  const set = new FieldSet();
  walkSet(value, shape, [], set);
  return set;
}

function walkSet(
  value: Json,
  shape: Shape,
  path: PathElement[],
  set: FieldSet,
): void {
  if (Array.isArray(value)) {
    const list = shape.list;
    if (list.type === "atomic") {
      set.insert(path);
      return;
    }
    const pes = elementsOf(list, value, path);
    const counts = new Map<PathElement, number>();
    for (const pe of pes) counts.set(pe, (counts.get(pe) ?? 0) + 1);
    value.forEach((item, i) => {
      const p = [...path, pes[i]];
      if (counts.get(pes[i])! > 1) {
        set.insert(p);
        return;
      }
      walkSet(item, list.item, p, set);
      set.insert(p);
    });
    return;
  }
  if (isObject(value)) {
    if (shape.atomic) {
      set.insert(path);
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const at = shape.child(key);
      const p = [...path, fieldElement(key)];
      walkSet(child, at.shape, p, set);
      if (
        child === null || (isObject(child) && Object.keys(child).length === 0)
      ) {
        set.insert(p);
      } else if (!at.declared) set.insert(p);
    }
    return;
  }
  set.insert(path);
}

/** The set with every declared struct field that has children made a member too. */
export function withNamedFields(set: FieldSet, shape: Shape): FieldSet {
  const out = new FieldSet();
  for (const m of set.members) out.members.add(m);
  for (const [pe, child] of set.children) {
    let childShape: Shape;
    if (pe.startsWith("f:")) {
      const at = shape.child(pe.slice(2));
      if (at.declared) out.members.add(pe);
      childShape = at.shape;
    } else childShape = shape.list.item;
    out.children.set(pe, withNamedFields(child, childShape));
  }
  return out;
}

/** What changed from one value to another, field by field. */
export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The fields added, changed and removed from `lhs` to `rhs`. */
export function compare(
  lhs: Json | undefined,
  rhs: Json | undefined,
  shape: Shape,
): Comparison {
  const out = {
    added: new FieldSet(),
    modified: new FieldSet(),
    removed: new FieldSet(),
  };
  compareAt(lhs, rhs, shape, [], out);
  return out;
}

/** `null` beside a list or map is that container, present and empty (Go's nil slice or map). */
function asContainer(value: Json | undefined, other: Json | undefined) {
  if (value !== null || other === undefined || other === null) return value;
  if (Array.isArray(other)) return [];
  return isObject(other) ? {} : value;
}

function compareAt(
  lhsIn: Json | undefined,
  rhsIn: Json | undefined,
  shape: Shape,
  path: PathElement[],
  out: Comparison,
): void {
  const lhs = asContainer(lhsIn, rhsIn);
  const rhs = asContainer(rhsIn, lhsIn);
  const leaf = () => {
    if (lhs === undefined) out.added.insert(path);
    else if (rhs === undefined) out.removed.insert(path);
    else if (!deepEqual(lhs, rhs)) out.modified.insert(path);
  };
  if (
    lhs !== undefined && rhs !== undefined && kindOf(lhs) !== kindOf(rhs)
  ) {
    out.modified.insert(path);
    return;
  }
  const kind = kindOf((rhs ?? lhs)!);
  if (kind === "scalar") return leaf();
  if (kind === "list") {
    if (shape.list.type === "atomic" || (emptyValue(lhs) && emptyValue(rhs))) {
      return leaf();
    }
    compareItems(
      (lhs ?? []) as Json[],
      (rhs ?? []) as Json[],
      { list: shape.list, path, out },
    );
  } else {
    if (shape.atomic || (emptyValue(lhs) && emptyValue(rhs))) return leaf();
    const l = (lhs ?? {}) as JsonObject;
    const r = (rhs ?? {}) as JsonObject;
    for (const key of new Set([...Object.keys(l), ...Object.keys(r)])) {
      compareAt(
        lhs === undefined ? undefined : l[key],
        rhs === undefined ? undefined : r[key],
        shape.child(key).shape,
        [...path, fieldElement(key)],
        out,
      );
    }
  }
  if (lhs === undefined) out.added.insert(path);
  else if (rhs === undefined) out.removed.insert(path);
}

function grouped(
  list: ListShape,
  items: Json[],
  path: PathElement[],
): Map<PathElement, Json[]> {
  const out = new Map<PathElement, Json[]>();
  items.forEach((item) => {
    const pe = itemElement(list, item, path);
    const group = out.get(pe);
    if (group) group.push(item);
    else out.set(pe, [item]);
  });
  return out;
}

function compareItems(
  lhs: Json[],
  rhs: Json[],
  at: { list: ListShape; path: PathElement[]; out: Comparison },
): void {
  const { list, path, out } = at;
  const l = grouped(list, lhs, path);
  const r = grouped(list, rhs, path);
  const all = [...l.keys(), ...[...r.keys()].filter((pe) => !l.has(pe))];
  for (const pe of all) {
    const ls = l.get(pe) ?? [];
    const rs = r.get(pe) ?? [];
    const p = [...path, pe];
    if (ls.length <= 1 && rs.length <= 1) {
      compareAt(ls[0], rs[0], list.item, p, out);
    } else if (ls.length >= 2 && rs.length >= 2) {
      if (!deepEqual(ls, rs)) out.modified.insert(p);
    } else if (ls.length >= 2) {
      if (rs.length > 0) compareAt(undefined, rs[0], list.item, p, out);
      out.removed.insert(p);
    } else {
      if (ls.length > 0) compareAt(ls[0], undefined, list.item, p, out);
      out.added.insert(p);
    }
  }
}

/**
 * The applied configuration `rhs` merged into the live object `lhs`:
 * structs and maps merge field by field, keyed lists and sets item by
 * item (in the order structured-merge-diff gives them), the rest is
 * replaced.
 */
export function merge(
  lhs: Json | undefined,
  rhs: Json | undefined,
  shape: Shape,
): Json | undefined {
  return mergeAt(lhs, rhs, shape, []);
}

function mergeAt(
  lhs: Json | undefined,
  rhs: Json | undefined,
  shape: Shape,
  path: PathElement[],
): Json | undefined {
  const leaf = () => structuredClone(rhs !== undefined ? rhs : lhs);
  if (
    lhs !== undefined && rhs !== undefined && kindOf(lhs) !== kindOf(rhs)
  ) {
    return leaf();
  }
  const kind = kindOf((rhs ?? lhs)!);
  if (kind === "scalar") return leaf();
  if (kind === "list") {
    if (shape.list.type === "atomic" || (emptyValue(lhs) && emptyValue(rhs))) {
      return leaf();
    }
    const items = mergeItems(
      (lhs ?? []) as Json[],
      (rhs ?? []) as Json[],
      { list: shape.list, path },
    );
    return items.length > 0 ? items : undefined;
  }
  if (shape.atomic || (emptyValue(lhs) && emptyValue(rhs))) return leaf();
  const l = (lhs ?? {}) as JsonObject;
  const r = (rhs ?? {}) as JsonObject;
  const out: JsonObject = {};
  for (const key of new Set([...Object.keys(l), ...Object.keys(r)])) {
    const merged = mergeAt(
      lhs === undefined ? undefined : l[key],
      rhs === undefined ? undefined : r[key],
      shape.child(key).shape,
      [...path, fieldElement(key)],
    );
    if (merged !== undefined) out[key] = merged;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function mergeItems(
  lhs: Json[],
  rhs: Json[],
  at: { list: ListShape; path: PathElement[] },
): Json[] {
  const { list, path } = at;
  const rPes = elementsOf(list, rhs, path);
  const seenR = new Map<PathElement, Json>();
  rPes.forEach((pe, i) => {
    if (seenR.has(pe)) {
      throw new TypedValueError(path, `duplicate entries for key ${pe}`);
    }
    seenR.set(pe, rhs[i]);
  });
  const lPes = elementsOf(list, lhs, path);
  const seenL = new Map<PathElement, Json | undefined>();
  lPes.forEach((pe, i) => {
    seenL.set(pe, seenL.has(pe) ? undefined : lhs[i]);
  });
  const shared = rPes.filter((pe) => seenL.has(pe));
  let nextShared = shared.shift();
  const mergedR = new Set<PathElement>();
  const out: Json[] = [];
  const push = (pe: PathElement, l: Json | undefined, r: Json | undefined) => {
    const merged = mergeAt(l, r, list.item, [...path, pe]);
    if (merged !== undefined) out.push(merged);
  };
  let lI = 0;
  let rI = 0;
  while (lI < lPes.length || rI < rPes.length) {
    if (lI < lPes.length && rI < rPes.length) {
      const pe = lPes[lI];
      if (pe === rPes[rI]) {
        mergedR.add(pe);
        push(pe, seenL.get(pe), seenR.get(pe));
        lI++;
        rI++;
        nextShared = shared.shift();
        continue;
      }
      if (seenR.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < lPes.length) {
      const pe = lPes[lI];
      if (!seenR.has(pe)) {
        push(pe, lhs[lI], undefined);
        lI++;
        continue;
      } else if (mergedR.has(pe)) lI++;
    }
    if (rI < rPes.length) {
      const pe = rPes[rI];
      mergedR.add(pe);
      push(pe, seenL.get(pe), seenR.get(pe));
      rI++;
      if (nextShared !== undefined && nextShared === pe) {
        nextShared = shared.shift();
      }
    }
  }
  return out;
}

/** `value` without the fields of `toRemove` (a list item or field in it goes whole). */
export function removeItems(
  value: Json,
  toRemove: FieldSet,
  shape: Shape,
): Json | undefined {
  return removeAt(value, toRemove, shape, []);
}

function removeAt(
  value: Json,
  toRemove: FieldSet,
  shape: Shape,
  path: PathElement[],
): Json | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0 || shape.list.type === "atomic") return undefined;
    const out: Json[] = [];
    value.forEach((item) => {
      const pe = itemElement(shape.list, item, path);
      if (toRemove.members.has(pe)) return;
      const below = toRemove.children.get(pe);
      if (below && !below.empty()) {
        const kept = removeAt(item, below, shape.list.item, [...path, pe]);
        if (kept !== undefined) out.push(kept);
      } else out.push(item);
    });
    return out.length > 0 ? out : undefined;
  }
  if (isObject(value)) {
    if (Object.keys(value).length === 0 || shape.atomic) return undefined;
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      const pe = fieldElement(key);
      if (toRemove.members.has(pe)) continue;
      const below = toRemove.children.get(pe);
      if (below && !below.empty()) {
        const kept = removeAt(child, below, shape.child(key).shape, [
          ...path,
          pe,
        ]);
        if (kept !== undefined) out[key] = kept;
      } else out[key] = child;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return value;
}
