/**
 * Server-side apply requests: the checks of the request (a field manager,
 * an object of the right apiVersion, kind and name, no managedFields),
 * then the merge and field ownership of `_managed.ts`.
 *
 * @module
 */
import { type Applied, apply, type FieldManagerContext } from "./_managed.ts";
import { meta, type Target } from "./_objects.ts";
import { isObject, type JsonObject } from "./_patch.ts";
import { apiVersionOf } from "./_resources.ts";
import { badRequest, invalid } from "./_status.ts";
import type { StoredObject } from "./_store.ts";

/** An apply request. */
export interface ApplyRequest {
  body: unknown;
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
}

/**
 * Checks an apply request and merges its configuration into `existing`
 * (or, when there is none, into an empty object of that name).
 */
export function applyRequest(
  t: Target,
  request: ApplyRequest,
  fields: { existing: StoredObject | undefined; context: FieldManagerContext },
): Applied & { config: JsonObject } {
  const manager = request.fieldManager;
  if (!manager) {
    throw invalid({ kind: "PatchOptions", group: "meta.k8s.io", name: "" }, [{
      reason: "FieldValueRequired",
      field: "fieldManager",
      message: "Required value: is required for apply patch",
    }]);
  }
  if (!isObject(request.body)) {
    throw badRequest("an apply patch must be an object");
  }
  const config = structuredClone(request.body);
  const cm = meta(config);
  if (cm.name !== undefined && cm.name !== t.name) {
    throw badRequest(
      `the name of the object (${cm.name}) does not match the name on the URL (${t.name})`,
    );
  }
  const expected = apiVersionOf(t.def.group, t.version.name);
  if (config.apiVersion !== expected) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${
        config.apiVersion ?? ""
      }, expected: ${expected}`,
    );
  }
  if (config.kind !== t.def.kind) {
    throw badRequest(
      `the kind in the apply patch (${
        config.kind ?? ""
      }) does not match the expected kind (${t.def.kind})`,
    );
  }
  const live: JsonObject = fields.existing
    ? structuredClone(fields.existing)
    : {
      apiVersion: expected,
      kind: t.def.kind,
      metadata: t.namespace !== undefined
        ? { name: t.name ?? "", namespace: t.namespace }
        : { name: t.name ?? "" },
    };
  const applied = apply(live, config, {
    manager,
    force: request.force === true,
    context: fields.context,
  });
  return { ...applied, config };
}
