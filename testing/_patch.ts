/**
 * Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and
 * the field-ownership bookkeeping of server-side apply.
 *
 * @module
 */

/** A JSON value. */
export type Json =
  | null
  | boolean
  | number
  | string
  | Json[]
  | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** A patch that cannot be applied to the object (a failed `test`, a missing path). */
export class PatchApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatchApplyError";
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new PatchApplyError(`invalid JSON pointer "${pointer}"`);
  }
  return pointer.slice(1).split("/").map((t) =>
    t.replace(/~1/g, "/").replace(/~0/g, "~")
  );
}

function arrayIndex(token: string, length: number, forAdd: boolean): number {
  if (forAdd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    throw new PatchApplyError(`invalid array index "${token}"`);
  }
  const i = Number(token);
  if (i > length || (!forAdd && i === length)) {
    throw new PatchApplyError(`array index ${i} out of bounds`);
  }
  return i;
}

function parentOf(doc: Json, tokens: string[], pointer: string): Json {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)];
    else if (isObject(node) && token in node) node = node[token];
    else throw new PatchApplyError(`path "${pointer}" does not exist`);
  }
  return node;
}

function getAt(doc: Json, pointer: string): Json {
  let node = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[arrayIndex(token, node.length, false)];
    else if (isObject(node) && token in node) node = node[token];
    else throw new PatchApplyError(`path "${pointer}" does not exist`);
  }
  return node;
}

function removeAt(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchApplyError("cannot remove the root");
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    return parent.splice(i, 1)[0];
  }
  if (isObject(parent) && last in parent) {
    const value = parent[last];
    delete parent[last];
    return value;
  }
  throw new PatchApplyError(`path "${pointer}" does not exist`);
}

function addAt(
  doc: Json,
  pointer: string,
  value: Json,
  replace: boolean,
): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, pointer);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, !replace);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    if (replace && !(last in parent)) {
      throw new PatchApplyError(`path "${pointer}" does not exist`);
    }
    parent[last] = value;
  } else {
    throw new PatchApplyError(`path "${pointer}" does not exist`);
  }
  return doc;
}

/** Structural equality of JSON values. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length &&
      a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6902 operations, applied in order to a copy of `doc`. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) {
    throw new PatchApplyError("a JSON patch must be an array of operations");
  }
  let out: Json = structuredClone(doc);
  for (const op of ops) {
    if (
      !isObject(op) || typeof op.op !== "string" || typeof op.path !== "string"
    ) {
      throw new PatchApplyError(
        "each JSON patch operation needs string fields op and path",
      );
    }
    const path = op.path;
    switch (op.op) {
      case "add":
        out = addAt(out, path, structuredClone(op.value ?? null), false);
        break;
      case "replace":
        out = addAt(out, path, structuredClone(op.value ?? null), true);
        break;
      case "remove":
        removeAt(out, path);
        break;
      case "move": {
        if (typeof op.from !== "string") {
          throw new PatchApplyError("move needs from");
        }
        const value = removeAt(out, op.from);
        out = addAt(out, path, value, false);
        break;
      }
      case "copy": {
        if (typeof op.from !== "string") {
          throw new PatchApplyError("copy needs from");
        }
        out = addAt(out, path, structuredClone(getAt(out, op.from)), false);
        break;
      }
      case "test": {
        const actual = getAt(out, path);
        if (!deepEqual(actual, op.value)) {
          throw new PatchApplyError(
            `testing value ${path} failed: expected ${
              JSON.stringify(op.value)
            }, found ${JSON.stringify(actual)}`,
          );
        }
        break;
      }
      default:
        throw new PatchApplyError(`unknown JSON patch operation "${op.op}"`);
    }
  }
  return out;
}

/**
 * The leaf paths of an applied configuration: each scalar or list is one
 * field (lists are atomic), objects are walked. Paths are JSON pointers.
 */
export function leafPaths(value: Json, prefix = ""): string[] {
  if (!isObject(value) || Object.keys(value).length === 0) {
    return prefix === "" ? [] : [prefix];
  }
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const escaped = key.replace(/~/g, "~0").replace(/\//g, "~1");
    out.push(...leafPaths(child, `${prefix}/${escaped}`));
  }
  return out;
}

/** The value at a pointer, or `undefined` when any step is missing. */
export function valueAt(doc: Json, pointer: string): Json | undefined {
  let node: Json | undefined = doc;
  for (const token of parsePointer(pointer)) {
    if (!isObject(node) || !(token in node)) return undefined;
    node = node[token];
  }
  return node;
}

/** Deletes the field at a pointer, and parents left empty by it. */
export function deleteAt(doc: JsonObject, pointer: string): void {
  const tokens = parsePointer(pointer);
  const chain: JsonObject[] = [doc];
  let node: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    if (!isObject(node) || !isObject(node[token])) return;
    node = node[token];
    chain.push(node as JsonObject);
  }
  delete chain[chain.length - 1][tokens[tokens.length - 1]];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]).length > 0) break;
    delete chain[i - 1][tokens[i - 1]];
  }
}

/** Applied configuration merged over the live object: objects merge, the rest replaces. */
export function applyMerge(live: Json | undefined, applied: Json): Json {
  if (!isObject(applied)) return structuredClone(applied);
  const out: JsonObject = isObject(live) ? { ...live } : {};
  for (const [key, value] of Object.entries(applied)) {
    out[key] = applyMerge(out[key], value);
  }
  return out;
}
