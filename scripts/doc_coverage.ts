/**
 * `deno task doc:coverage`: how much of the public API is documented. Runs
 * `deno doc --json` on every entry point of `deno.json` and prints, per
 * entry point and for the whole package (each symbol counted once), the
 * share of exported symbols that have JSDoc and the share that have an
 * `@example`, the share of class and interface members with JSDoc, and
 * whether each entry point has an `@module` doc with an example. Lists the
 * symbols still missing docs or examples. Symbols an entry point re-exports
 * from a dependency are named but not counted.
 *
 * Usage: `deno run -A scripts/doc_coverage.ts [--list]`
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { args } from "../platform/mod.ts";

/** JSDoc as `deno doc --json` reports it. */
export interface DocJsDoc {
  /** The text before the tags. */
  doc?: string;
  /** The tags (`example`, `module`, `param`, ...). */
  tags?: { kind: string }[];
}

/** One declaration of a symbol in `deno doc --json` (format version 2). */
export interface DocDeclaration {
  /** Where it is declared. */
  location: { filename: string; line: number };
  /** `class`, `function`, `interface`, `typeAlias`, `variable`, ... */
  kind: string;
  /** Its JSDoc, when it has one. */
  jsDoc?: DocJsDoc;
  /** The definition; classes and interfaces list their members here. */
  def?: {
    methods?: { jsDoc?: DocJsDoc; name?: string }[];
    properties?: { jsDoc?: DocJsDoc; name?: string }[];
    constructors?: { jsDoc?: DocJsDoc }[];
    callSignatures?: { jsDoc?: DocJsDoc }[];
  };
}

/** One exported symbol. */
export interface DocSymbol {
  /** Its exported name. */
  name: string;
  /** Its declarations (overloads, merged declarations). */
  declarations: DocDeclaration[];
}

/** The documentation of one module. */
export interface DocModule {
  /** The `@module` doc, when present. */
  module_doc?: DocJsDoc;
  /** The exported symbols. */
  symbols: DocSymbol[];
}

/** The output of `deno doc --json` (format version 2). */
export interface DocJson {
  /** The format version. */
  version: number;
  /** Modules by file URL. */
  nodes: Record<string, DocModule>;
}

/** Documentation counts of a set of symbols. */
export interface Coverage {
  /** Exported symbols. */
  symbols: number;
  /** Of those, with a JSDoc description. */
  documented: number;
  /** Of those, with an `@example`. */
  withExample: number;
  /** Members of exported classes and interfaces. */
  members: number;
  /** Of those, with a JSDoc description. */
  documentedMembers: number;
  /** Functions, classes, variables and enums. */
  values: number;
  /** Of those, with an `@example`. */
  valuesWithExample: number;
  /** Names of symbols without a description. */
  undocumented: string[];
  /** Names of symbols without an example. */
  withoutExample: string[];
}

/** Declaration kinds that exist at run time (the rest are types). */
const VALUE_KINDS = new Set(["function", "class", "variable", "enum"]);

function hasDoc(jsDoc: DocJsDoc | undefined): boolean {
  return (jsDoc?.doc ?? "").trim().length > 0;
}

function hasExample(jsDoc: DocJsDoc | undefined): boolean {
  return (jsDoc?.tags ?? []).some((t) => t.kind === "example");
}

/** A key that identifies a symbol across entry points that re-export it. */
function symbolKey(symbol: DocSymbol): string {
  const where = symbol.declarations[0]?.location;
  return `${symbol.name}@${where?.filename}:${where?.line}`;
}

/**
 * Counts documented symbols and members. A symbol with several
 * declarations (overloads) counts as documented when any of them is.
 *
 * @example
 * ```ts
 * const c = coverage([{ name: "f", declarations: [{
 *   location: { filename: "a.ts", line: 1 }, kind: "function",
 *   jsDoc: { doc: "Does f.", tags: [{ kind: "example" }] },
 * }] }]);
 * // c.documented === 1, c.withExample === 1
 * ```
 */
export function coverage(symbols: DocSymbol[]): Coverage {
  const seen = new Set<string>();
  const result: Coverage = {
    symbols: 0,
    documented: 0,
    withExample: 0,
    members: 0,
    documentedMembers: 0,
    values: 0,
    valuesWithExample: 0,
    undocumented: [],
    withoutExample: [],
  };
  for (const symbol of symbols) {
    const key = symbolKey(symbol);
    if (seen.has(key)) continue;
    seen.add(key);
    result.symbols++;
    if (symbol.declarations.some((d) => hasDoc(d.jsDoc))) result.documented++;
    else result.undocumented.push(symbol.name);
    const example = symbol.declarations.some((d) => hasExample(d.jsDoc));
    if (example) result.withExample++;
    else result.withoutExample.push(symbol.name);
    if (symbol.declarations.some((d) => VALUE_KINDS.has(d.kind))) {
      result.values++;
      if (example) result.valuesWithExample++;
    }
    for (const declaration of symbol.declarations) {
      if (declaration.kind !== "class" && declaration.kind !== "interface") {
        continue;
      }
      const def = declaration.def ?? {};
      const members = [
        ...(def.methods ?? []),
        ...(def.properties ?? []),
        ...(def.constructors ?? []),
        ...(def.callSignatures ?? []),
      ];
      result.members += members.length;
      result.documentedMembers += members.filter((m) => hasDoc(m.jsDoc))
        .length;
    }
  }
  return result;
}

/**
 * Splits symbols into ours (declared under `root`, a `file:` URL ending in
 * `/`) and those an entry point re-exports from a dependency (TypeBox's
 * `Static`, say): the latter's docs are the dependency's, so they are listed
 * but not counted.
 *
 * @example
 * ```ts
 * const { own, foreign } = ownSymbols([], "file:///work/main/");
 * // own and foreign are both empty
 * ```
 */
export function ownSymbols(
  symbols: DocSymbol[],
  root: string,
): { own: DocSymbol[]; foreign: DocSymbol[] } {
  const own: DocSymbol[] = [];
  const foreign: DocSymbol[] = [];
  for (const symbol of symbols) {
    const file = symbol.declarations[0]?.location.filename ?? "";
    (file.startsWith(root) ? own : foreign).push(symbol);
  }
  return { own, foreign };
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "n/a" : `${((100 * part) / whole).toFixed(1)}%`;
}

function denoDocJson(file: string): Promise<DocJson> {
  return new Promise((resolve, reject) => {
    execFile(
      "deno",
      ["doc", "--json", file],
      { maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`deno doc failed on ${file}: ${stderr}`));
        else resolve(JSON.parse(stdout) as DocJson);
      },
    );
  });
}

function line(label: string, c: Coverage, moduleDoc: string): string {
  return `${label.padEnd(14)} ${String(c.symbols).padStart(5)} symbols  ` +
    `${percent(c.documented, c.symbols).padStart(6)} documented  ` +
    `${percent(c.withExample, c.symbols).padStart(6)} with @example ` +
    `(${percent(c.valuesWithExample, c.values)} of ${c.values} values)  ` +
    `${percent(c.documentedMembers, c.members).padStart(6)} of ` +
    `${c.members} members documented  ${moduleDoc}`;
}

if (import.meta.main) {
  const list = args().includes("--list");
  const config = JSON.parse(await readFile("deno.json", "utf8")) as {
    exports: string | Record<string, string>;
  };
  const exports = typeof config.exports === "string"
    ? { ".": config.exports }
    : config.exports;
  const all: DocSymbol[] = [];
  const foreign = new Set<string>();
  const root = new URL("../", import.meta.url).href;
  for (const [subpath, file] of Object.entries(exports)) {
    const doc = await denoDocJson(file);
    const module = Object.values(doc.nodes)[0];
    const split = ownSymbols(module?.symbols ?? [], root);
    const symbols = split.own;
    for (const s of split.foreign) foreign.add(s.name);
    all.push(...symbols);
    const moduleDoc = !hasDoc(module?.module_doc)
      ? "@module doc MISSING"
      : hasExample(module?.module_doc)
      ? "@module doc with example"
      : "@module doc WITHOUT example";
    console.log(line(subpath, coverage(symbols), moduleDoc));
  }
  const total = coverage(all);
  console.log(line("all (unique)", total, ""));
  if (foreign.size > 0) {
    console.log(
      `re-exported from dependencies, not counted: ${[...foreign].join(", ")}`,
    );
  }
  if (list) {
    console.log(`without JSDoc: ${total.undocumented.join(", ") || "none"}`);
    console.log(
      `without @example: ${total.withoutExample.join(", ") || "none"}`,
    );
  }
}
