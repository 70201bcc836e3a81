/**
 * Reading collections: label and field selectors applied to stored
 * objects, and paged lists with `limit` and `continue` tokens.
 *
 * @module
 */
import { isObject, type Json, type JsonObject } from "./_patch.ts";
import { apiVersionOf } from "./_resources.ts";
import { type ListQuery, tableOf, type Target } from "./_objects.ts";
import {
  type Matcher,
  parseFieldSelector,
  parseLabelSelector,
} from "./_selectors.ts";
import { badRequest, expired } from "./_status.ts";
import type { Store, StoredObject } from "./_store.ts";
import { renderObject } from "./_watch.ts";

function fieldGetter(obj: StoredObject): (key: string) => string | undefined {
  return (key) => {
    let node: Json | undefined = obj;
    for (const part of key.split(".")) {
      if (!isObject(node)) return undefined;
      node = node[part];
    }
    if (node === undefined || node === null) return undefined;
    return typeof node === "object" ? JSON.stringify(node) : String(node);
  };
}

function labelGetter(obj: StoredObject): (key: string) => string | undefined {
  const labels = obj.metadata.labels;
  return (key) => {
    if (!isObject(labels)) return undefined;
    const v = labels[key];
    return typeof v === "string" ? v : undefined;
  };
}

/** The predicate of a query's label and field selectors. */
export function matcherFor(
  t: Target,
  query: ListQuery,
): (obj: StoredObject) => boolean {
  const label: Matcher = parseLabelSelector(query.labelSelector ?? null);
  const fields = new Set([
    "metadata.name",
    "metadata.namespace",
    ...t.def.selectableFields,
  ]);
  const field: Matcher = parseFieldSelector(
    query.fieldSelector ?? null,
    fields,
  );
  return (obj) => label(labelGetter(obj)) && field(fieldGetter(obj));
}

/** The stored objects of the target's resource (and namespace) that match, now or in `table`. */
export function selectedEntries(
  store: Store,
  t: Target,
  matches: (obj: StoredObject) => boolean,
  table: Map<string, StoredObject> = store.table(tableOf(t.def)),
): [string, StoredObject][] {
  const out: [string, StoredObject][] = [];
  for (const entry of table) {
    const obj = entry[1];
    if (t.namespace !== undefined && obj.metadata.namespace !== t.namespace) {
      continue;
    }
    if (matches(obj)) out.push(entry);
  }
  return out;
}

interface Continue {
  rv: number;
  start: string;
}

function encodeContinue(token: Continue): string {
  return btoa(JSON.stringify(token)).replace(/=+$/, "");
}

function decodeContinue(text: string): Continue {
  try {
    const pad = text + "=".repeat((4 - (text.length % 4)) % 4);
    const value = JSON.parse(atob(pad));
    if (typeof value.rv === "number" && typeof value.start === "string") {
      return value;
    }
  } catch {
    // Reported below.
  }
  throw badRequest(`invalid continue token "${text}"`);
}

/** The JSON text of a list object, its items rendered in `apiVersion`. */
export function listText(
  t: Target,
  fields: { metadata: JsonObject; items: string[] },
): string {
  const head = JSON.stringify({
    kind: t.def.listKind,
    apiVersion: apiVersionOf(t.def.group, t.version.name),
    metadata: fields.metadata,
  });
  return `${head.slice(0, -1)},"items":[${fields.items.join(",")}]}`;
}

function expiredContinue(): Error {
  return expired(
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
  );
}

/** An item of a list: custom objects carry apiVersion and kind, built-in ones do not. */
export function listItem(t: Target, obj: StoredObject): string {
  const apiVersion = apiVersionOf(t.def.group, t.version.name);
  if (t.def.custom) return renderObject(obj, apiVersion);
  const { apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
  return JSON.stringify(rest);
}

/**
 * LIST, as the JSON text of the list object. Every page of a paged list
 * reads the first page's snapshot (its resourceVersion); a label or field
 * selector hides `remainingItemCount`, as on a real server.
 */
export function list(store: Store, t: Target, query: ListQuery): string {
  const matches = matcherFor(t, query);
  let start = "";
  let rv = store.rv;
  let table: Map<string, StoredObject> | undefined;
  if (query.continue) {
    const token = decodeContinue(query.continue);
    table = store.tableAt(tableOf(t.def), token.rv);
    if (!table) throw expiredContinue();
    start = token.start;
    rv = token.rv;
  }
  let entries = selectedEntries(store, t, matches, table);
  if (start) entries = entries.filter(([key]) => key > start);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const metadata: JsonObject = { resourceVersion: String(rv) };
  const limit = query.limit ?? 0;
  if (limit > 0 && entries.length > limit) {
    const rest = entries.length - limit;
    entries = entries.slice(0, limit);
    metadata.continue = encodeContinue({
      rv,
      start: entries[entries.length - 1][0],
    });
    if (!query.labelSelector && !query.fieldSelector) {
      metadata.remainingItemCount = rest;
    }
  } else if (t.def.custom) metadata.continue = "";
  return listText(t, {
    metadata,
    items: entries.map(([, obj]) => listItem(t, obj)),
  });
}
