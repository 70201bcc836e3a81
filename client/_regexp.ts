/**
 * Regular expressions as the API server runs them: Go's `regexp` (RE2
 * syntax), through re2js, a pure-JavaScript port of RE2J (itself a port of
 * Go's regexp). JavaScript's `RegExp` differs: `\s` and `\w` are Unicode-wide
 * there and ASCII here, `(?i)`, `[[:alpha:]]`, `\A`, `\z` and `\-` are
 * refused there, `\u00e9` and repeat counts over 1000 are refused here.
 *
 * @module
 */
import { RE2JS } from "re2js";

/** A compiled pattern: `test` is Go's `MatchString` (unanchored). */
export interface Pattern {
  test(value: string): boolean;
}

const cache = new Map<string, Pattern | Error>();

/**
 * Compiles `pattern` as Go's `regexp.Compile` would, or returns the error
 * (with Go's message, such as `invalid escape sequence: \u`).
 */
export function compilePattern(pattern: string): Pattern | Error {
  let compiled = cache.get(pattern);
  if (compiled === undefined) {
    try {
      const re = RE2JS.compile(pattern);
      compiled = { test: (value: string) => re.test(value) };
    } catch (error) {
      compiled = error instanceof Error ? error : new Error(String(error));
    }
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, compiled);
  }
  return compiled;
}
