/**
 * Label and field selectors in the syntax of the Kubernetes API:
 * `app=web,tier!=db,env in (a,b),!legacy` and `metadata.name=x`.
 *
 * @module
 */
import { badRequest } from "./_status.ts";

/** A predicate over an object's labels or fields. */
export type Matcher = (get: (key: string) => string | undefined) => boolean;

/** Matches everything. */
export const EVERYTHING: Matcher = () => true;

function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = /^([a-z0-9A-Z]([a-z0-9A-Z._/-]*[a-z0-9A-Z])?)$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, raw: string): string {
  if (!KEY.test(key)) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}" in "${raw}"`,
    );
  }
  return key;
}

function checkValue(value: string, raw: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw badRequest(
      `unable to parse requirement: invalid label value "${value}" in "${raw}"`,
    );
  }
  return value;
}

function requirement(raw: string): Matcher {
  const set = raw.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/);
  if (set) {
    const key = checkKey(set[1], raw);
    const values = new Set(
      set[3].split(",").map((v) => checkValue(v.trim(), raw)),
    );
    return set[2] === "in"
      ? (get) => {
        const v = get(key);
        return v !== undefined && values.has(v);
      }
      : (get) => {
        const v = get(key);
        return v === undefined || !values.has(v);
      };
  }
  const cmp = raw.match(/^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/);
  if (cmp) {
    const key = checkKey(cmp[1], raw);
    const op = cmp[2];
    if (op === "<" || op === ">") {
      const bound = Number(cmp[3]);
      if (!Number.isInteger(bound)) {
        throw badRequest(
          `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer in "${raw}"`,
        );
      }
      return (get) => {
        const v = Number(get(key));
        return Number.isInteger(v) && (op === "<" ? v < bound : v > bound);
      };
    }
    const value = checkValue(cmp[3].trim(), raw);
    return op === "!="
      ? (get) => get(key) !== value
      : (get) => get(key) === value;
  }
  if (raw.startsWith("!")) {
    const key = checkKey(raw.slice(1).trim(), raw);
    return (get) => get(key) === undefined;
  }
  const key = checkKey(raw, raw);
  return (get) => get(key) !== undefined;
}

/** Parses a label selector; an empty or missing one matches everything. */
export function parseLabelSelector(text: string | null): Matcher {
  if (!text) return EVERYTHING;
  const reqs = splitTop(text).map(requirement);
  return (get) => reqs.every((r) => r(get));
}

/**
 * Parses a field selector over the supported `fields`; another field is a
 * 400 BadRequest as on the real server.
 */
export function parseFieldSelector(
  text: string | null,
  fields: ReadonlySet<string>,
): Matcher {
  if (!text) return EVERYTHING;
  const reqs = splitTop(text).map((raw): Matcher => {
    const m = raw.match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) {
      throw badRequest(`invalid selector: '${raw}'; can't understand '${raw}'`);
    }
    const [, field, op, value] = m;
    if (!fields.has(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return op === "!="
      ? (get) => (get(field) ?? "") !== value
      : (get) => (get(field) ?? "") === value;
  });
  return (get) => reqs.every((r) => r(get));
}
