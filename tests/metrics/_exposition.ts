/**
 * A strict parser of the Prometheus text exposition format (0.0.4), written
 * from the format's description, so tests read rendered metrics back instead
 * of comparing strings.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function unescape(text: string, quoted: boolean): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = text[++i];
    if (n === "n") out += "\n";
    else if (n === "\\") out += "\\";
    else if (n === '"' && quoted) out += '"';
    else throw new Error(`Bad escape \\${n} in ${JSON.stringify(text)}`);
  }
  return out;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`Bad label name ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`Unquoted value of ${name}`);
    let j = eq + 2;
    let raw = "";
    while (text[j] !== '"') {
      if (j >= text.length) throw new Error(`Unterminated value of ${name}`);
      if (text[j] === "\\") raw += text[j++];
      raw += text[j++];
    }
    if (name in labels) throw new Error(`Label ${name} twice`);
    labels[name] = unescape(raw, true);
    i = j + 1;
    if (text[i] === ",") i++;
    else if (i !== text.length) throw new Error(`Expected , after ${name}`);
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  if (text === "" || Number.isNaN(value)) throw new Error(`Bad value ${text}`);
  return value;
}

/** Parses `text`; throws on anything the format does not allow. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const space = rest.indexOf(" ");
      const name = rest.slice(0, space);
      if (out.help.has(name)) throw new Error(`HELP of ${name} twice`);
      out.help.set(name, unescape(rest.slice(space + 1), false));
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (out.type.has(name)) throw new Error(`TYPE of ${name} twice`);
      if (out.samples.some((s) => familyOf(s.name, out.type) === name)) {
        throw new Error(`TYPE of ${name} after its samples`);
      }
      if (
        !["counter", "gauge", "histogram", "summary", "untyped"].includes(type)
      ) {
        throw new Error(`Bad type ${type}`);
      }
      out.type.set(name, type);
      continue;
    }
    if (line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace >= 0 && brace < line.indexOf(" ")) {
      name = line.slice(0, brace);
      const close = line.lastIndexOf("}");
      labels = parseLabels(line.slice(brace + 1, close));
      rest = line.slice(close + 1).trim();
    } else {
      const space = line.indexOf(" ");
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    if (!NAME.test(name)) throw new Error(`Bad metric name ${name}`);
    out.samples.push({ name, labels, value: parseValue(rest.split(" ")[0]) });
  }
  return out;
}

/** The family a sample belongs to (`x_bucket` → `x` for a histogram `x`). */
export function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === "histogram") return base;
  }
  return name;
}

/** The value of the one sample `name` whose labels include `labels`. */
export function value(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = exposition.samples.filter((s) =>
    s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (found.length > 1) {
    throw new Error(`Several samples ${name} ${JSON.stringify(labels)}`);
  }
  return found[0]?.value;
}
