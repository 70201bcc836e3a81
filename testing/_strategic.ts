/**
 * Strategic merge patch (k8s.io/apimachinery's `strategicpatch`), for the
 * built-in kinds: lists with the `merge` strategy merge by their merge
 * key (containers and volumes by name, ports by containerPort, volume
 * mounts by mountPath, conditions by type) or, for scalars, as a union;
 * the directives `$patch` (`replace`, `delete`), `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` apply;
 * merged lists keep the order the real server gives them.
 *
 * @module
 */
import { deepEqual, isObject, type Json, type JsonObject } from "./_patch.ts";
import type { Shape } from "./_types.ts";

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder/";
const DELETE_FROM = "$deleteFromPrimitiveList/";

/** A strategic merge patch the server refuses (400 BadRequest). */
export class StrategicPatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StrategicPatchError";
  }
}

/** Applies a strategic merge patch to a copy of `original`. */
export function strategicMerge(
  original: JsonObject,
  patch: JsonObject,
  shape: Shape,
): JsonObject {
  return mergeMap(structuredClone(original), structuredClone(patch), shape);
}

function strategyOf(shape: Shape): string {
  return (shape.patchStrategy ?? "").split(",").filter((s) =>
    s !== "retainKeys"
  )[0] ?? "";
}

type Kind = "map" | "list" | "scalar";

function kindOf(value: Json): Kind {
  if (Array.isArray(value)) return "list";
  if (isObject(value)) return "map";
  return "scalar";
}

function goType(value: Json): string {
  return value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : typeof value;
}

function mergeMap(
  original: JsonObject | undefined,
  patch: JsonObject,
  shape: Shape,
): JsonObject {
  if (DIRECTIVE in patch) {
    const directive = patch[DIRECTIVE];
    if (directive === "replace") {
      delete patch[DIRECTIVE];
      return patch;
    }
    if (directive === "delete") return {};
    throw new StrategicPatchError(
      `Unknown patch type: ${JSON.stringify(directive)} in map: ${
        JSON.stringify(patch)
      }`,
    );
  }
  const out = original ?? {};
  retainKeys(out, patch);
  setElementOrders(out, patch, shape);
  for (const [rawKey, value] of Object.entries(patch)) {
    let key = rawKey;
    let deleteList = false;
    if (rawKey.startsWith(DELETE_FROM)) {
      key = rawKey.slice(DELETE_FROM.length);
      deleteList = true;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    if (!(key in out)) {
      out[key] = value;
      continue;
    }
    if (goType(out[key]) !== goType(value)) {
      out[key] = value;
      continue;
    }
    const child = shape.child(key).shape;
    const strategy = strategyOf(child);
    switch (kindOf(value)) {
      case "map":
        out[key] = strategy === "replace"
          ? value
          : mergeMap(out[key] as JsonObject, value as JsonObject, child);
        break;
      case "list":
        out[key] = strategy === "merge"
          ? mergeSlice(out[key] as Json[], value as Json[], {
            shape: child,
            deleteList,
          })
          : value;
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function retainKeys(original: JsonObject, patch: JsonObject): void {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep)) {
    throw new StrategicPatchError("invalid patch: $retainKeys must be a list");
  }
  const allowed = new Set(keep.map(String));
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM) || k.startsWith(SET_ORDER)) {
      continue;
    }
    if (!allowed.has(k)) {
      throw new StrategicPatchError(
        "doesn't match the $retainKeys list in the patch",
      );
    }
  }
  for (const k of Object.keys(original)) {
    if (!allowed.has(k)) delete original[k];
  }
}

function setElementOrders(
  original: JsonObject,
  patch: JsonObject,
  shape: Shape,
): void {
  for (const [directive, order] of Object.entries(patch)) {
    if (!directive.startsWith(SET_ORDER)) continue;
    delete patch[directive];
    if (!Array.isArray(order)) {
      throw new StrategicPatchError(
        "invalid patch: $setElementOrder must be a list",
      );
    }
    const key = directive.slice(SET_ORDER.length);
    const child = shape.child(key).shape;
    const mergeKey = child.mergeKey ?? "";
    const before = Array.isArray(original[key])
      ? original[key] as Json[]
      : undefined;
    const patched = Array.isArray(patch[key])
      ? patch[key] as Json[]
      : undefined;
    let merged: Json[];
    if (before && !patched) merged = before;
    else if (!before && patched) merged = patched;
    else if (before && patched) {
      merged = strategyOf(child) === "merge"
        ? mergeSlice(before, patched, { shape: child, deleteList: false })
        : patched;
    } else continue;
    const inOrder = (item: Json) =>
      order.some((o) => sameItem(o, item, mergeKey));
    const patchItems = merged.filter(inOrder);
    const serverOnly = merged.filter((item) => !inOrder(item));
    original[key] = normalizeOrder(patchItems, serverOnly, {
      patchOrder: order,
      serverOrder: before ?? [],
      mergeKey,
    });
    delete patch[key];
  }
}

function keyOf(item: Json, mergeKey: string): Json | undefined {
  if (mergeKey === "") return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

function sameItem(a: Json, b: Json, mergeKey: string): boolean {
  const ka = keyOf(a, mergeKey);
  return ka !== undefined && deepEqual(ka, keyOf(b, mergeKey));
}

function indexIn(list: Json[], item: Json, mergeKey: string): number {
  return list.findIndex((x) => sameItem(x, item, mergeKey));
}

function mergeSlice(
  original: Json[],
  patch: Json[],
  fields: { shape: Shape; deleteList: boolean },
): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kinds = new Set([...original, ...patch].map(goType));
  if (kinds.size > 1) {
    throw new StrategicPatchError(
      `list element types are not identical: ${
        JSON.stringify([original, patch])
      }`,
    );
  }
  const kind = [...kinds][0];
  const mergeKey = fields.shape.mergeKey ?? "";
  let merged: Json[];
  let patchItems = patch;
  let before = original;
  if (kind !== "object") {
    if (fields.deleteList) {
      return original.filter((v) => !patch.some((p) => deepEqual(p, v)));
    }
    merged = dedupe([...original, ...patch]);
  } else {
    if (mergeKey === "") {
      throw new StrategicPatchError(
        "cannot merge lists without merge key for type map",
      );
    }
    const special = specialElements(original, patch, mergeKey);
    before = special.original;
    patchItems = special.patch;
    merged = [...before];
    for (const item of patchItems) {
      const obj = item as JsonObject;
      if (!(mergeKey in obj)) {
        throw new StrategicPatchError(
          `map: ${
            JSON.stringify(obj)
          } does not contain declared merge key: ${mergeKey}`,
        );
      }
      const at = indexIn(merged, obj, mergeKey);
      if (at >= 0) {
        merged[at] = mergeMap(
          merged[at] as JsonObject,
          obj,
          fields.shape.list.item,
        );
      } else merged.push(obj);
    }
  }
  const inPatch = (item: Json) => indexIn(patchItems, item, mergeKey) >= 0;
  return normalizeOrder(
    merged.filter(inPatch),
    merged.filter((i) => !inPatch(i)),
    {
      patchOrder: patchItems,
      serverOrder: before,
      mergeKey,
    },
  );
}

function dedupe(items: Json[]): Json[] {
  const out: Json[] = [];
  for (const item of items) {
    if (!out.some((x) => deepEqual(x, item))) out.push(item);
  }
  return out;
}

/** `$patch: delete` items leave the original, `$patch: replace` replaces it. */
function specialElements(
  original: Json[],
  patch: Json[],
  mergeKey: string,
): { original: Json[]; patch: Json[] } {
  const plain: Json[] = [];
  let replace = false;
  let kept = original;
  for (const item of patch) {
    const obj = item as JsonObject;
    if (!(DIRECTIVE in obj)) {
      plain.push(item);
      continue;
    }
    switch (obj[DIRECTIVE]) {
      case "delete":
        if (!(mergeKey in obj)) {
          throw new StrategicPatchError(
            `map: ${
              JSON.stringify(obj)
            } does not contain declared merge key: ${mergeKey}`,
          );
        }
        kept = kept.filter((x) => !sameItem(x, obj, mergeKey));
        break;
      case "replace":
        replace = true;
        break;
      case "merge":
        throw new StrategicPatchError(
          "merging lists cannot yet be specified in the patch",
        );
      default:
        throw new StrategicPatchError(
          `Unknown patch type: ${JSON.stringify(obj[DIRECTIVE])} in map: ${
            JSON.stringify(obj)
          }`,
        );
    }
  }
  return replace
    ? { original: plain, patch: [] }
    : { original: kept, patch: plain };
}

/**
 * The merged list in the server's order: patch items in the patch's order,
 * server-only items in the live order, interleaved where the live order
 * relates them.
 */
function normalizeOrder(
  patchItems: Json[],
  serverOnly: Json[],
  fields: { patchOrder: Json[]; serverOrder: Json[]; mergeKey: string },
): Json[] {
  const { patchOrder, serverOrder, mergeKey } = fields;
  const sortBy = (items: Json[], order: Json[]) => {
    const deleted = mergeKey === ""
      ? []
      : items.filter((i) => isObject(i) && i[DIRECTIVE] === "delete");
    const rest = items.filter((i) => !deleted.includes(i));
    rest.sort((a, b) => {
      const ia = indexIn(order, a, mergeKey);
      const ib = indexIn(order, b, mergeKey);
      return ia >= 0 && ib >= 0 ? ia - ib : 0;
    });
    return [...rest, ...deleted];
  };
  const right = sortBy(patchItems, patchOrder);
  const left = sortBy(serverOnly, serverOrder);
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey);
      const ri = indexIn(serverOrder, right[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
