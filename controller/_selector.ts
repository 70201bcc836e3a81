/**
 * Label selectors in the API's string syntax: `a=b`, `a==b`, `a!=b`, `a`,
 * `!a`, `a in (x,y)`, `a notin (x,y)`, joined by commas.
 *
 * @module
 */

/** A compiled selector. */
export type LabelMatcher = (
  labels: Record<string, string> | undefined,
) => boolean;

/**
 * Thrown for a selector that does not parse.
 *
 * @example
 * ```ts
 * import { LabelSelectorError, Store } from "./cache.ts";
 * const store = new Store();
 * try {
 *   store.select("app in (web"); // missing ")"
 * } catch (error) {
 *   if (error instanceof LabelSelectorError) console.error(error.message);
 * }
 * ```
 */
export class LabelSelectorError extends Error {
  /** The error class name. */
  override name = "LabelSelectorError";
}

const KEY = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/** Compiles `selector` (a string or an equality map) into a matcher. */
export function compileSelector(
  selector: string | Record<string, string>,
): LabelMatcher {
  if (typeof selector !== "string") {
    const entries = Object.entries(selector);
    return (labels) => entries.every(([k, v]) => labels?.[k] === v);
  }
  const tests: LabelMatcher[] = [];
  for (const term of splitTerms(selector)) {
    tests.push(compileTerm(term));
  }
  return (labels) => tests.every((test) => test(labels));
}

function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== "");
}

function compileTerm(term: string): LabelMatcher {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const key = checkKey(set[1]!, term);
    const values = new Set(set[3]!.split(",").map((v) => v.trim()));
    return set[2] === "in"
      ? (labels) => labels?.[key] !== undefined && values.has(labels[key]!)
      : (labels) => labels?.[key] === undefined || !values.has(labels[key]!);
  }
  const op = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (op) {
    const key = checkKey(op[1]!, term);
    const value = op[3]!;
    return op[2] === "!="
      ? (labels) => labels?.[key] !== value
      : (labels) => labels?.[key] === value;
  }
  if (term.startsWith("!")) {
    const key = checkKey(term.slice(1).trim(), term);
    return (labels) => labels?.[key] === undefined;
  }
  const key = checkKey(term, term);
  return (labels) => labels?.[key] !== undefined;
}

function checkKey(key: string, term: string): string {
  if (!KEY.test(key)) {
    throw new LabelSelectorError(
      `Expected a label key in selector term ${JSON.stringify(term)}, found ${
        JSON.stringify(key)
      }`,
    );
  }
  return key;
}
