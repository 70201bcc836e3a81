/**
 * Internal: printer columns as the CRD manifest lists them, each checked
 * against the schema and given its type, with `Age` added.
 *
 * @module
 */
import { InvalidDefinitionError } from "./errors.ts";
import type { JSONSchemaProps } from "./schema.ts";
import type {
  PrinterColumn,
  PrinterColumnType,
  ResolvedPrinterColumn,
} from "./types.ts";

function schemaAt(
  root: JSONSchemaProps,
  segments: string[],
): JSONSchemaProps | undefined {
  let node: JSONSchemaProps | undefined = root;
  for (const segment of segments) {
    if (node === undefined) return undefined;
    if (node.properties && Object.hasOwn(node.properties, segment)) {
      node = node.properties[segment];
    } else if (typeof node.additionalProperties === "object") {
      node = node.additionalProperties;
    } else if (node["x-kubernetes-preserve-unknown-fields"] === true) {
      return {};
    } else {
      return undefined;
    }
  }
  return node;
}

function columnType(
  column: PrinterColumn,
  node: JSONSchemaProps | undefined,
): PrinterColumnType {
  if (column.type !== undefined) return column.type;
  if (node?.format === "date-time" || node?.format === "date") return "date";
  switch (node?.type) {
    case "integer":
    case "number":
    case "boolean":
      return node.type;
    default:
      return "string";
  }
}

const COLUMN_TYPES = new Set([
  "string",
  "integer",
  "number",
  "boolean",
  "date",
]);

/** The printer columns of the manifest; throws `InvalidDefinitionError` on a bad one. */
export function resolveColumns(
  columns: PrinterColumn[],
  root: JSONSchemaProps,
): ResolvedPrinterColumn[] {
  const resolved = columns.map((column): ResolvedPrinterColumn => {
    const simple = /^(\.[A-Za-z_][\w-]*)+$/.test(column.jsonPath);
    if (!column.jsonPath.startsWith(".")) {
      throw new InvalidDefinitionError(
        `Expected printer column ${
          JSON.stringify(column.name)
        } to have a jsonPath starting with '.', found ${
          JSON.stringify(column.jsonPath)
        }`,
      );
    }
    if (column.type !== undefined && !COLUMN_TYPES.has(column.type)) {
      throw new InvalidDefinitionError(
        `Expected printer column ${
          JSON.stringify(column.name)
        } to have a type of ${[...COLUMN_TYPES].join(", ")}, found ${
          JSON.stringify(column.type)
        }`,
      );
    }
    const segments = column.jsonPath.slice(1).split(".");
    let node: JSONSchemaProps | undefined;
    if (simple && (segments[0] === "spec" || segments[0] === "status")) {
      node = schemaAt(root, segments);
      if (node === undefined) {
        throw new InvalidDefinitionError(
          `Expected printer column ${
            JSON.stringify(column.name)
          } to point at a field of the schema, found ${column.jsonPath}, which the schema does not define`,
        );
      }
    } else if (simple && segments.join(".") === "metadata.creationTimestamp") {
      node = { type: "string", format: "date-time" };
    }
    const out: ResolvedPrinterColumn = {
      name: column.name,
      type: columnType(column, node),
      jsonPath: column.jsonPath,
    };
    if (column.description !== undefined) {
      out.description = column.description;
    }
    if (column.format !== undefined) out.format = column.format;
    if (column.priority !== undefined) out.priority = column.priority;
    return out;
  });
  if (!resolved.some((c) => c.jsonPath === ".metadata.creationTimestamp")) {
    resolved.push({
      name: "Age",
      type: "date",
      jsonPath: ".metadata.creationTimestamp",
    });
  }
  return resolved;
}
