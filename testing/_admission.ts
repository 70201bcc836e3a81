/**
 * Admission of a written object: its apiVersion, kind and namespace checked
 * against the URL, generated names, metadata validation for built-in kinds,
 * and schema pruning, defaulting and validation for custom resources.
 *
 * @module
 */
import { isObject, type JsonObject } from "./_patch.ts";
import { apiVersionOf, crdProblems } from "./_resources.ts";
import { meta, type Target } from "./_objects.ts";
import { admitCustomObject } from "./_schema.ts";
import { badRequest, invalid, type StatusCause } from "./_status.ts";

const NAME_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * Checks a request body's apiVersion, kind and namespace against the
 * target, and sets them to what is stored (the storage version).
 */
export function checkBody(t: Target, body: unknown): JsonObject {
  if (!isObject(body)) {
    throw badRequest("the request body must be a JSON object");
  }
  const requested = apiVersionOf(t.def.group, t.version.name);
  const apiVersion = body.apiVersion;
  if (t.def.custom) checkCustomTypeMeta(t, body, requested);
  if (apiVersion !== undefined && apiVersion !== requested) {
    throw badRequest(
      `the API version in the data (${apiVersion}) does not match the expected API version (${requested})`,
    );
  }
  if (body.kind !== undefined && body.kind !== t.def.kind) {
    throw badRequest(
      `the kind in the data (${body.kind}) does not match the expected kind (${t.def.kind})`,
    );
  }
  const m = meta(body);
  if (t.def.namespaced) {
    if (
      m.namespace !== undefined && m.namespace !== "" &&
      m.namespace !== t.namespace
    ) {
      throw badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    m.namespace = t.namespace ?? "";
  } else {
    delete m.namespace;
  }
  body.apiVersion = apiVersionOf(t.def.group, t.def.versions[0].name);
  body.kind = t.def.kind;
  return body;
}

/** A custom object whose apiVersion or kind is not its resource's: 422, as its validation says. */
function checkCustomTypeMeta(
  t: Target,
  body: JsonObject,
  requested: string,
): void {
  const causes: StatusCause[] = [];
  if (body.apiVersion !== undefined && body.apiVersion !== requested) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "apiVersion",
      message: `Invalid value: ${
        JSON.stringify(body.apiVersion)
      }: must be ${requested}`,
    });
  }
  if (body.kind !== undefined && body.kind !== t.def.kind) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "kind",
      message: `Invalid value: ${
        JSON.stringify(body.kind)
      }: must be ${t.def.kind}`,
    });
  }
  if (causes.length === 0) return;
  const m = isObject(body.metadata) ? body.metadata : {};
  throw invalid({
    kind: typeof body.kind === "string" ? body.kind : t.def.kind,
    group: t.def.group,
    name: String(m.name ?? ""),
  }, causes);
}

/** `prefix` and five random characters of the alphabet the real server uses. */
export function generateName(prefix: string, random: () => number): string {
  let suffix = "";
  for (let i = 0; i < 5; i++) {
    suffix += SUFFIX_ALPHABET[Math.floor(random() * SUFFIX_ALPHABET.length)];
  }
  return prefix + suffix;
}

function validateObjectMeta(
  t: Target,
  obj: JsonObject,
  causes: StatusCause[],
): void {
  const m = meta(obj);
  const name = String(m.name ?? "");
  const pattern = t.def.plural === "namespaces" ? NAME_LABEL : NAME_SUBDOMAIN;
  const limit = t.def.plural === "namespaces" ? 63 : 253;
  if (!pattern.test(name) || name.length > limit) {
    causes.push({
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 ${
        t.def.plural === "namespaces" ? "label" : "subdomain"
      } must consist of lower case alphanumeric characters, '-'${
        t.def.plural === "namespaces" ? "" : " or '.'"
      }, and must start and end with an alphanumeric character`,
    });
  }
  for (const field of ["labels", "annotations"]) {
    const map = m[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      causes.push({
        reason: "FieldValueTypeInvalid",
        field: `metadata.${field}`,
        message: "Invalid value: must be a map of strings",
      });
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== "string") {
        causes.push({
          reason: "FieldValueTypeInvalid",
          field: `metadata.${field}`,
          message: `Invalid value: the value of ${
            JSON.stringify(key)
          } must be a string`,
        });
        continue;
      }
      const slash = key.lastIndexOf("/");
      const local = slash >= 0 ? key.slice(slash + 1) : key;
      const prefix = slash >= 0 ? key.slice(0, slash) : "";
      const keyOk = LABEL_NAME.test(local) && local.length <= 63 &&
        (prefix === "" ||
          (NAME_SUBDOMAIN.test(prefix) && prefix.length <= 253));
      if (!keyOk) {
        causes.push({
          reason: "FieldValueInvalid",
          field: `metadata.${field}`,
          message: `Invalid value: ${
            JSON.stringify(key)
          }: name part must consist of alphanumeric characters, '-', '_' or '.'`,
        });
      }
      if (
        field === "labels" && (!LABEL_VALUE.test(value) || value.length > 63)
      ) {
        causes.push({
          reason: "FieldValueInvalid",
          field: `metadata.labels`,
          message: `Invalid value: ${
            JSON.stringify(value)
          }: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        });
      }
    }
  }
}

/**
 * Validates an object about to be stored, in place: schema defaults,
 * pruning and validation for custom resources, metadata for built-in
 * kinds, and a CRD's own checks. Throws 422 Invalid with every cause.
 */
export function admit(t: Target, obj: JsonObject): void {
  const causes: StatusCause[] = [];
  if (t.def.custom && t.version.schema) {
    const admission = admitCustomObject(t.version.schema, obj, {
      namespaced: t.def.namespaced,
    });
    if (t.strictFields === true && admission.pruned.length > 0) {
      throw badRequest(
        `strict decoding error: ${
          admission.pruned.map((path) => `unknown field "${path}"`).join(", ")
        }`,
      );
    }
    causes.push(...admission.causes);
  } else {
    validateObjectMeta(t, obj, causes);
  }
  if (
    t.def.plural === "customresourcedefinitions" &&
    t.def.group === "apiextensions.k8s.io"
  ) {
    for (const [field, message] of crdProblems(obj)) {
      causes.push({ reason: "FieldValueInvalid", field, message });
    }
  }
  if (causes.length > 0) {
    throw invalid({
      kind: t.def.kind,
      group: t.def.group,
      name: String(meta(obj).name ?? ""),
    }, causes);
  }
}
