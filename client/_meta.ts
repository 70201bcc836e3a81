/**
 * Object metadata as the API server checks it (k8s.io/apimachinery
 * validation): names, namespaces, labels, annotations, finalizers.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_json.ts";
import type { FieldProblem } from "./schema.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The most bytes all annotations (keys and values) may take together. */
export const ANNOTATIONS_LIMIT = 256 * 1024;

/** The fields of `ObjectMeta`; others are dropped when it is decoded. */
export const OBJECT_META_FIELDS: ReadonlySet<string> = new Set([
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
]);

/** `IsDNS1123Label`. */
export function isDNS1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** `IsDNS1123Subdomain`. */
export function isDNS1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** `IsDNS1035Label`. */
export function isDNS1035Label(value: string): boolean {
  return value.length <= 63 && DNS1035_LABEL.test(value);
}

/** `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain. */
export function isQualifiedName(value: string): boolean {
  const parts = value.split("/");
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (
    parts.length === 2 && (parts[0] === "" || !isDNS1123Subdomain(parts[0]))
  ) {
    return false;
  }
  return name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** `IsValidLabelValue`. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/** `ValidatePathSegmentName`: not `.` or `..`, no `/` or `%`. */
export function isPathSegmentName(value: string, prefix: boolean): boolean {
  if (!prefix && (value === "." || value === "..")) return false;
  return !value.includes("/") && !value.includes("%");
}

/** How names are checked: custom resources use DNS subdomains. */
export type NameRule = "subdomain" | "path-segment";

function nameOk(rule: NameRule, value: string, prefix: boolean): boolean {
  if (rule === "path-segment") return isPathSegmentName(value, prefix);
  const masked = prefix && value.endsWith("-")
    ? `${value.slice(0, -1)}a`
    : value;
  return isDNS1123Subdomain(masked);
}

function typed(
  problems: FieldProblem[],
  path: string,
  value: unknown,
  expected: string,
): boolean {
  if (expected === "string" ? typeof value === "string" : isObject(value)) {
    return true;
  }
  problems.push({
    path,
    reason: "FieldValueTypeInvalid",
    message: `expected ${
      expected === "string" ? "a string" : "an object"
    }, found ${
      value === null ? "null" : Array.isArray(value) ? "array" : typeof value
    }`,
  });
  return false;
}

/**
 * Every problem of an object's metadata, as `ValidateObjectMeta` finds them.
 * `generatesName`: a name will be generated from `generateName` (on create),
 * so a missing name is fine.
 */
export function objectMetaProblems(
  meta: JsonObject,
  options: {
    path: string;
    namespaced: boolean;
    rule: NameRule;
    requireName: boolean;
  },
): FieldProblem[] {
  const check: MetaCheck = {
    problems: [],
    at: (name: string) => `${options.path}.${name}`,
    rule: options.rule,
    requireName: options.requireName,
  };
  checkNames(meta, check);
  checkNamespace(meta.namespace, check);
  checkLabels(meta.labels, check);
  checkAnnotations(meta.annotations, check);
  checkOwnerReferences(meta.ownerReferences, check);
  checkFinalizers(meta.finalizers, check);
  return check.problems;
}

/** What each part of {@linkcode objectMetaProblems} checks against. */
interface MetaCheck {
  /** Where the problems found go, in the order they are found. */
  problems: FieldProblem[];
  /** The path of a metadata field. */
  at: (name: string) => string;
  /** How names are checked. */
  rule: NameRule;
  /** Whether a name (or a `generateName`) must be given. */
  requireName: boolean;
}

/** `generateName` and `name`: one of them when a name is required. */
function checkNames(meta: JsonObject, check: MetaCheck): void {
  const { problems, at, rule } = check;
  const { name, generateName } = meta;
  if (
    generateName !== undefined &&
    typed(problems, at("generateName"), generateName, "string")
  ) {
    if (generateName !== "" && !nameOk(rule, generateName as string, true)) {
      problems.push({
        path: at("generateName"),
        reason: "FieldValueInvalid",
        message:
          `expected a lowercase DNS subdomain prefix (a-z, 0-9, '-', '.'), found ${
            JSON.stringify(generateName)
          }`,
      });
    }
  }
  if (name === undefined || name === "") {
    if (
      check.requireName &&
      (typeof generateName !== "string" || generateName === "")
    ) {
      problems.push({
        path: at("name"),
        reason: "FieldValueRequired",
        message: "name or generateName is required",
      });
    }
  } else if (typed(problems, at("name"), name, "string")) {
    if (!nameOk(rule, name as string, false)) {
      problems.push({
        path: at("name"),
        reason: "FieldValueInvalid",
        message: rule === "subdomain"
          ? `expected a lowercase DNS subdomain (a-z, 0-9, '-', '.', at most 253 characters), found ${
            JSON.stringify(name)
          }`
          : `expected a name without '/' or '%', found ${JSON.stringify(name)}`,
      });
    }
  }
}

/** `namespace`: a DNS label when given. */
function checkNamespace(namespace: unknown, check: MetaCheck): void {
  const { problems, at } = check;
  if (
    namespace !== undefined && namespace !== "" &&
    typed(problems, at("namespace"), namespace, "string")
  ) {
    if (!isDNS1123Label(namespace as string)) {
      problems.push({
        path: at("namespace"),
        reason: "FieldValueInvalid",
        message:
          `expected a DNS label (a-z, 0-9, '-', at most 63 characters), found ${
            JSON.stringify(namespace)
          }`,
      });
    }
  }
}

/** `labels`: qualified keys, label values. */
function checkLabels(labels: unknown, check: MetaCheck): void {
  const { problems, at } = check;
  if (
    labels === undefined || labels === null ||
    !typed(problems, at("labels"), labels, "object")
  ) return;
  for (const [key, value] of Object.entries(labels as JsonObject)) {
    if (!isQualifiedName(key)) {
      problems.push({
        path: at("labels"),
        reason: "FieldValueInvalid",
        message:
          `expected a label key ([prefix/]name: alphanumeric, '-', '_' or '.', at most 63 characters), found ${
            JSON.stringify(key)
          }`,
      });
    }
    if (!typed(problems, `${at("labels")}.${key}`, value, "string")) continue;
    if (!isLabelValue(value as string)) {
      problems.push({
        path: at("labels"),
        reason: "FieldValueInvalid",
        message:
          `expected a label value (empty, or alphanumeric, '-', '_' or '.' starting and ending with an alphanumeric character, at most 63 characters), found ${
            JSON.stringify(value)
          }`,
      });
    }
  }
}

/** `annotations`: qualified keys, string values, {@linkcode ANNOTATIONS_LIMIT} bytes in all. */
function checkAnnotations(annotations: unknown, check: MetaCheck): void {
  const { problems, at } = check;
  if (
    annotations === undefined || annotations === null ||
    !typed(problems, at("annotations"), annotations, "object")
  ) return;
  let size = 0;
  const encoder = new TextEncoder();
  for (const [key, value] of Object.entries(annotations as JsonObject)) {
    if (!isQualifiedName(key.toLowerCase())) {
      problems.push({
        path: at("annotations"),
        reason: "FieldValueInvalid",
        message: `expected an annotation key ([prefix/]name), found ${
          JSON.stringify(key)
        }`,
      });
    }
    if (!typed(problems, `${at("annotations")}.${key}`, value, "string")) {
      continue;
    }
    size += encoder.encode(key).length +
      encoder.encode(value as string).length;
  }
  if (size > ANNOTATIONS_LIMIT) {
    problems.push({
      path: at("annotations"),
      reason: "FieldValueTooLong",
      message:
        `expected annotations of at most ${ANNOTATIONS_LIMIT} bytes in all, found ${size}`,
    });
  }
}

/** `ownerReferences`: each complete, at most one the controller. */
function checkOwnerReferences(owners: unknown, check: MetaCheck): void {
  const { problems, at } = check;
  if (owners === undefined || owners === null) return;
  if (!Array.isArray(owners)) {
    problems.push({
      path: at("ownerReferences"),
      reason: "FieldValueTypeInvalid",
      message: "expected a list of owner references",
    });
    return;
  }
  let controllers = 0;
  for (const owner of owners) {
    const ref = isObject(owner) ? owner : {};
    checkOwnerReference(ref, check);
    if (ref.controller === true) controllers++;
  }
  if (controllers > 1) {
    problems.push({
      path: at("ownerReferences"),
      reason: "FieldValueInvalid",
      message:
        `expected at most one owner reference with controller: true, found ${controllers}`,
    });
  }
}

/** One owner reference: a version, kind, name and uid. */
function checkOwnerReference(ref: JsonObject, check: MetaCheck): void {
  const apiVersion = typeof ref.apiVersion === "string" ? ref.apiVersion : "";
  const version = apiVersion.split("/").pop() ?? "";
  for (
    const [field, ok] of [
      ["apiVersion", version !== ""],
      ["kind", typeof ref.kind === "string" && ref.kind !== ""],
      ["name", typeof ref.name === "string" && ref.name !== ""],
      ["uid", typeof ref.uid === "string" && ref.uid !== ""],
    ] as const
  ) {
    if (!ok) {
      check.problems.push({
        path: `${check.at("ownerReferences")}.${field}`,
        reason: "FieldValueInvalid",
        message: `expected a non-empty ${
          field === "apiVersion" ? "version" : field
        } in every owner reference`,
      });
    }
  }
}

/** `finalizers`: a list of qualified names. */
function checkFinalizers(finalizers: unknown, check: MetaCheck): void {
  const { problems, at } = check;
  if (finalizers === undefined || finalizers === null) return;
  if (!Array.isArray(finalizers)) {
    problems.push({
      path: at("finalizers"),
      reason: "FieldValueTypeInvalid",
      message: "expected a list of strings",
    });
    return;
  }
  finalizers.forEach((f, i) => {
    if (typeof f !== "string" || !isQualifiedName(f)) {
      problems.push({
        path: `${at("finalizers")}[${i}]`,
        reason: "FieldValueInvalid",
        message: `expected a finalizer name ([prefix/]name), found ${
          JSON.stringify(f)
        }`,
      });
    }
  });
}
