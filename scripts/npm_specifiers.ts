/**
 * The npm build's module specifiers: how an import of the Deno sources is
 * written in the npm package (`./x.ts` → `./x.js`, `./x.deno.ts` → its Node
 * twin, `npm:pkg@1/sub` → `pkg/sub`), the TypeScript transformer that
 * rewrites them, and the parser that finds every specifier of a file.
 *
 * @module
 */
import ts from "typescript";

/** The build cannot go on: bad configuration, an import, or a type error. */
export class NpmBuildError extends Error {
  /** Creates the error with a message that says what is wrong. */
  constructor(message: string) {
    super(message);
    this.name = "NpmBuildError";
  }
}

/** An `npm:` specifier taken apart. */
export interface NpmSpecifier {
  /** The package name, scoped or not. */
  name: string;
  /** The version or range after `@`; `""` when absent. */
  version: string;
  /** The path inside the package without a leading slash; `""` if none. */
  subpath: string;
}

/**
 * Splits `npm:name@version/sub` (the `npm:` prefix is optional).
 *
 * @example
 * ```ts
 * parseNpmSpecifier("npm:@kubernetes/client-node@2.0.1/dist/gen");
 * // { name: "@kubernetes/client-node", version: "2.0.1", subpath: "dist/gen" }
 * ```
 */
export function parseNpmSpecifier(specifier: string): NpmSpecifier {
  const text = specifier.replace(/^npm:\/?/, "");
  const match = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]*))?(?:\/(.*))?$/.exec(text);
  if (!match) {
    throw new NpmBuildError(
      `Expected an npm specifier like "npm:name@1.0.0", found "${specifier}"`,
    );
  }
  return { name: match[1], version: match[2] ?? "", subpath: match[3] ?? "" };
}

/** The kinds of module a specifier can name after mapping. */
export type MappedKind = "relative" | "node" | "npm";

/** What an import specifier becomes in the npm package. */
export interface MappedSpecifier {
  /** The specifier written into the emitted JavaScript and declarations. */
  specifier: string;
  /** What it names. */
  kind: MappedKind;
  /** For `npm`: the package and the version from its `npm:` specifier. */
  npm?: NpmSpecifier;
}

/**
 * Maps one import specifier of the Deno sources to its npm form. The import
 * map in `imports` is consulted for bare names, exactly or by prefix (a
 * bare `pkg/sub` follows the entry for `pkg`, as Deno does for `npm:`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(mapSpecifier("./platform.deno.ts", {}).specifier, "./platform.node.js");
 * assert.equal(mapSpecifier("npm:pkg@1.0.0/sub", {}).specifier, "pkg/sub");
 * ```
 */
export function mapSpecifier(
  specifier: string,
  imports: Record<string, string>,
): MappedSpecifier {
  if (specifier.startsWith("./") || specifier.startsWith("../")) {
    return { specifier: toJsPath(specifier), kind: "relative" };
  }
  if (specifier.startsWith("node:")) return { specifier, kind: "node" };
  if (specifier.startsWith("npm:")) {
    const npm = parseNpmSpecifier(specifier);
    const path = npm.subpath ? `${npm.name}/${npm.subpath}` : npm.name;
    return { specifier: path, kind: "npm", npm };
  }
  if (/^(jsr|https?|file|data):/.test(specifier) || specifier.startsWith("/")) {
    throw new NpmBuildError(
      `Expected a relative, "node:" or "npm:" import for the npm package, ` +
        `found "${specifier}"`,
    );
  }
  const target = lookupImportMap(specifier, imports);
  if (target === null) {
    throw new NpmBuildError(
      `Expected the bare import "${specifier}" in the "imports" of deno.json, ` +
        `found no entry for it`,
    );
  }
  if (!target.startsWith("npm:") && !target.startsWith("node:")) {
    throw new NpmBuildError(
      `Expected the import map entry for "${specifier}" to be an "npm:" or ` +
        `"node:" specifier, found "${target}"`,
    );
  }
  return mapSpecifier(target, imports);
}

function lookupImportMap(
  specifier: string,
  imports: Record<string, string>,
): string | null {
  if (specifier in imports) return imports[specifier];
  let best = "";
  for (const key of Object.keys(imports)) {
    const prefix = key.endsWith("/") ? key : `${key}/`;
    if (specifier.startsWith(prefix) && prefix.length > best.length) {
      best = prefix;
    }
  }
  if (!best) return null;
  const key = best in imports ? best : best.slice(0, -1);
  const base = imports[key].replace(/\/$/, "");
  return `${base}/${specifier.slice(best.length)}`;
}

/**
 * `x.deno.ts` → `x.node.js`, `x.ts` → `x.js`, `x.mts` → `x.mjs`; other
 * extensions unchanged.
 */
export function toJsPath(path: string): string {
  return path.replace(/\.deno\.ts$/, ".node.ts").replace(/\.d\.ts$/, ".js")
    .replace(/\.(m?)tsx?$/, ".$1js");
}

/** The source twin an import of `path` compiles against. */
export function sourceTwin(path: string): string {
  return path.replace(/\.deno\.ts$/, ".node.ts");
}

/**
 * A TypeScript transformer that rewrites module specifiers in import and
 * export declarations, dynamic `import()`, `import("…")` types,
 * `declare module "…"` and module URLs (`new URL("./x.ts", import.meta.url)`)
 * with `map`; no other string is touched. Use it in
 * `before` (JavaScript) and `afterDeclarations` (declarations).
 *
 * @example
 * ```ts
 * import type ts from "typescript";
 * import { specifierTransformer } from "./npm_specifiers.ts";
 * const emit = (program: ts.Program) =>
 *   program.emit(undefined, undefined, undefined, false, {
 *     before: [specifierTransformer((s) => s.replace(/\.ts$/, ".js"))],
 *   });
 * ```
 */
export function specifierTransformer<T extends ts.SourceFile | ts.Bundle>(
  map: (specifier: string) => string,
): ts.TransformerFactory<T> {
  return (context) => {
    const f = context.factory;
    const literal = (node: ts.Expression): ts.StringLiteral | undefined =>
      ts.isStringLiteral(node)
        ? f.createStringLiteral(map(node.text))
        : undefined;
    const visit = (node: ts.Node): ts.Node => {
      if (ts.isImportDeclaration(node)) {
        const spec = literal(node.moduleSpecifier);
        if (spec) {
          return f.updateImportDeclaration(
            node,
            node.modifiers,
            node.importClause,
            spec,
            node.attributes,
          );
        }
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
        const spec = literal(node.moduleSpecifier);
        if (spec) {
          return f.updateExportDeclaration(
            node,
            node.modifiers,
            node.isTypeOnly,
            node.exportClause,
            spec,
            node.attributes,
          );
        }
      } else if (
        ts.isCallExpression(node) &&
        node.expression.kind === ts.SyntaxKind.ImportKeyword &&
        node.arguments.length > 0
      ) {
        const spec = literal(node.arguments[0]);
        if (spec) {
          return f.updateCallExpression(
            node,
            node.expression,
            node.typeArguments,
            [spec, ...node.arguments.slice(1)].map((a) =>
              ts.visitNode(a, visit) as ts.Expression
            ),
          );
        }
      } else if (
        ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)
      ) {
        const spec = literal(node.argument.literal as ts.Expression);
        if (spec) {
          return f.updateImportTypeNode(
            node,
            f.updateLiteralTypeNode(node.argument, spec),
            node.attributes,
            node.qualifier,
            node.typeArguments?.map((t) =>
              ts.visitNode(t, visit) as ts.TypeNode
            ),
            node.isTypeOf,
          );
        }
      } else if (ts.isNewExpression(node) && moduleUrlOf(node)) {
        const [first, base] = node.arguments!;
        return f.updateNewExpression(
          node,
          node.expression,
          node.typeArguments,
          [literal(first)!, base],
        );
      } else if (
        ts.isModuleDeclaration(node) && ts.isStringLiteral(node.name)
      ) {
        return f.updateModuleDeclaration(
          node,
          node.modifiers,
          f.createStringLiteral(map(node.name.text)),
          node.body && ts.visitNode(node.body, visit) as ts.ModuleBody,
        );
      }
      return ts.visitEachChild(node, visit, context);
    };
    return (root: T): T => {
      if (ts.isBundle(root)) return root;
      return ts.visitEachChild(root as ts.SourceFile, visit, context) as T;
    };
  };
}

/**
 * The module specifiers of a source file, found by parsing it: imports and
 * exports, dynamic `import("…")`, `import("…")` types, `declare module` and
 * module URLs (`new URL("./x.ts", import.meta.url)`).
 *
 * @example
 * ```ts
 * moduleSpecifiers("a.ts", 'import { b } from "./b.ts"; const s = "./c.ts";');
 * // ["./b.ts"]
 * ```
 */
export function moduleSpecifiers(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    const specifier = moduleSpecifierOf(node);
    if (specifier) found.push(specifier.text);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/**
 * The string of `new URL("./x.ts", import.meta.url)`: a reference to a module
 * of the package by URL (a script a test starts, a registry a script loads),
 * relative and naming a TypeScript file; undefined for any other expression.
 */
function moduleUrlOf(node: ts.Node): ts.StringLiteral | undefined {
  if (
    !ts.isNewExpression(node) || !ts.isIdentifier(node.expression) ||
    node.expression.text !== "URL" || node.arguments?.length !== 2
  ) {
    return undefined;
  }
  const [first, base] = node.arguments;
  const isImportMetaUrl = ts.isPropertyAccessExpression(base) &&
    ts.isMetaProperty(base.expression) &&
    base.expression.keywordToken === ts.SyntaxKind.ImportKeyword &&
    base.name.text === "url";
  return isImportMetaUrl && ts.isStringLiteral(first) &&
      /^\.\.?\/.*\.m?ts$/.test(first.text)
    ? first
    : undefined;
}

function moduleSpecifierOf(node: ts.Node): ts.StringLiteral | undefined {
  let candidate: ts.Node | undefined;
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
    candidate = node.moduleSpecifier;
  } else if (
    ts.isCallExpression(node) &&
    node.expression.kind === ts.SyntaxKind.ImportKeyword
  ) {
    candidate = node.arguments[0];
  } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
    candidate = node.argument.literal;
  } else if (ts.isModuleDeclaration(node)) {
    candidate = node.name;
  } else {
    candidate = moduleUrlOf(node);
  }
  return candidate && ts.isStringLiteral(candidate) ? candidate : undefined;
}
