/**
 * The shape of an object's fields as server-side apply, strategic merge
 * patch and the wire format see it: which objects are structs (declared
 * fields) and which are maps (free keys), which lists merge by keys or as
 * sets, which maps and structs are atomic, and which fields take any
 * value. Built-in kinds read it from the table `_builtin_types.ts`
 * (generated from a real server's OpenAPI); custom resources from their
 * CRD's structural schema.
 *
 * @module
 */
import { isObject, type Json } from "./_patch.ts";
import type { JSONSchemaProps } from "../client/schema.ts";

/** What the table keeps of one field of a built-in type. */
export interface FieldFacts {
  /** The named type of the field's value, or of each list item or map element. */
  t?: string;
  /** A map: its keys are free (each one a separate field). */
  map?: true;
  /** A list merged by `keys` (`map`) or as a set of scalars (`set`); atomic when absent. */
  list?: "map" | "set";
  /** The keys of a `map` list. */
  keys?: string[];
  /** Defaults of key fields an item may omit. */
  keyDefaults?: Record<string, Json>;
  /** The strategic merge patch strategy (`merge`, `retainKeys`, `merge,retainKeys`, `replace`). */
  patch?: string;
  /** The strategic merge patch merge key. */
  mergeKey?: string;
  /** An atomic map or struct: one field as a whole. */
  atomic?: true;
  /** Any value (`x-kubernetes-preserve-unknown-fields`). */
  deduced?: true;
}

/** Built-in types by short name: their fields with non-default facts. */
export type TypeTable = Record<string, Record<string, FieldFacts>>;

/** How a list's items are told apart. */
export interface ListShape {
  /** `atomic`: the list is one value; `set`: scalars; `map`: objects by `keys`. */
  type: "atomic" | "set" | "map";
  keys: string[];
  keyDefaults: Record<string, Json>;
  /** The shape of each item. */
  item: Shape;
}

/** The shape of the value at one position of an object. */
export interface Shape {
  /** For an object value: a key's shape, and whether it is a declared field (else a map element). */
  child(key: string): { shape: Shape; declared: boolean };
  /** An atomic map or struct. */
  readonly atomic: boolean;
  /** A map (free keys), as opposed to a struct. */
  readonly isMap: boolean;
  /** For a list value. */
  readonly list: ListShape;
  /** Strategic merge patch: the field's strategy and merge key. */
  readonly patchStrategy?: string;
  readonly mergeKey?: string;
}

const ATOMIC_ITEMS: ListShape = {
  type: "atomic",
  keys: [],
  keyDefaults: {},
  get item(): Shape {
    return DEDUCED;
  },
};

/** Any value: objects have free keys, lists are atomic. */
export const DEDUCED: Shape = {
  child: () => ({ shape: DEDUCED, declared: false }),
  atomic: false,
  isMap: true,
  list: ATOMIC_ITEMS,
};

class BuiltinShape implements Shape {
  readonly atomic: boolean;
  readonly isMap: boolean;
  readonly patchStrategy?: string;
  readonly mergeKey?: string;
  #table: TypeTable;
  #facts: FieldFacts | undefined;
  #type: string | undefined;
  #list: ListShape | undefined;

  /** `facts`: how the field holds its value (undefined for items and roots); `type`: the value's named type. */
  constructor(
    table: TypeTable,
    at: { facts?: FieldFacts; type?: string },
  ) {
    this.#table = table;
    this.#facts = at.facts;
    this.#type = at.type;
    this.atomic = at.facts?.atomic === true;
    this.isMap = at.facts?.map === true;
    this.patchStrategy = at.facts?.patch;
    this.mergeKey = at.facts?.mergeKey;
  }

  child(key: string): { shape: Shape; declared: boolean } {
    if (this.#facts?.deduced) return DEDUCED.child(key);
    if (this.isMap) {
      return {
        shape: new BuiltinShape(this.#table, { type: this.#facts?.t }),
        declared: false,
      };
    }
    const facts = this.#type ? this.#table[this.#type]?.[key] : undefined;
    if (facts?.deduced && !facts.list && !facts.map) {
      return { shape: DEDUCED, declared: true };
    }
    return {
      shape: new BuiltinShape(this.#table, { facts, type: facts?.t }),
      declared: true,
    };
  }

  get list(): ListShape {
    if (!this.#list) {
      const f = this.#facts;
      this.#list = {
        type: f?.list ?? "atomic",
        keys: f?.keys ?? [],
        keyDefaults: f?.keyDefaults ?? {},
        item: new BuiltinShape(this.#table, { type: f?.t }),
      };
    }
    return this.#list;
  }
}

/** The shape of a built-in object whose root type is `type` in `table`. */
export function builtinShape(table: TypeTable, type: string): Shape {
  return new BuiltinShape(table, { type });
}

class SchemaShape implements Shape {
  readonly atomic: boolean;
  readonly isMap: boolean;
  #schema: JSONSchemaProps;
  #metadata: Shape | undefined;
  #list: ListShape | undefined;

  /** `metadata`: the shape of `metadata` at the root of a custom object. */
  constructor(schema: JSONSchemaProps, metadata?: Shape) {
    this.#schema = schema;
    this.#metadata = metadata;
    this.atomic = schema["x-kubernetes-map-type"] === "atomic";
    this.isMap = schema.properties === undefined &&
      isObject(schema.additionalProperties as Json);
  }

  child(key: string): { shape: Shape; declared: boolean } {
    if (this.#metadata && key === "metadata") {
      return { shape: this.#metadata, declared: true };
    }
    const s = this.#schema;
    const property = s.properties?.[key];
    if (property) return { shape: shapeOfSchema(property), declared: true };
    if (this.#metadata && (key === "apiVersion" || key === "kind")) {
      return { shape: DEDUCED, declared: true };
    }
    if (isObject(s.additionalProperties as Json)) {
      return {
        shape: shapeOfSchema(s.additionalProperties as JSONSchemaProps),
        declared: false,
      };
    }
    return { shape: DEDUCED, declared: false };
  }

  get list(): ListShape {
    if (!this.#list) {
      const s = this.#schema;
      const type = s["x-kubernetes-list-type"];
      const items = isObject(s.items as Json)
        ? s.items as JSONSchemaProps
        : undefined;
      const keys = type === "map" ? s["x-kubernetes-list-map-keys"] ?? [] : [];
      const keyDefaults: Record<string, Json> = {};
      for (const k of keys) {
        const d = items?.properties?.[k]?.default;
        if (d !== undefined) keyDefaults[k] = d as Json;
      }
      this.#list = {
        type: type === "map" || type === "set" ? type : "atomic",
        keys,
        keyDefaults,
        item: items ? shapeOfSchema(items) : DEDUCED,
      };
    }
    return this.#list;
  }
}

function shapeOfSchema(schema: JSONSchemaProps): Shape {
  if (
    schema["x-kubernetes-preserve-unknown-fields"] === true &&
    schema.properties === undefined
  ) {
    return DEDUCED;
  }
  return new SchemaShape(schema);
}

/** The shape of a custom object: its CRD version's schema, with ObjectMeta at `metadata`. */
export function customShape(
  schema: JSONSchemaProps | undefined,
  metadata: Shape,
): Shape {
  return new SchemaShape(schema ?? { type: "object" }, metadata);
}
