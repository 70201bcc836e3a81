/**
 * Server-side apply: which field manager applied which fields of an
 * object, conflicts between managers, and the merge of an applied
 * configuration into the live object.
 *
 * @module
 */
import {
  applyMerge,
  deepEqual,
  deleteAt,
  isObject,
  type JsonObject,
  leafPaths,
  valueAt,
} from "./_patch.ts";
import { meta, SERVER_FIELDS, type Target } from "./_objects.ts";
import { ApiStatusError, badRequest, invalid } from "./_status.ts";
import type { KubeObject } from "./_store.ts";

/** A field manager's applied fields on one object. */
type Ownership = Map<string, Set<string>>;

/** An apply request. */
export interface ApplyRequest {
  body: unknown;
  fieldManager?: string;
  force?: boolean;
  dryRun?: boolean;
}

/** What apply needs of the core: the live object, and the create and write paths. */
export interface ApplyContext {
  existing: KubeObject | undefined;
  create: (body: JsonObject, options: { dryRun?: boolean }) => KubeObject;
  write: (body: JsonObject, options: { dryRun?: boolean }) => KubeObject;
}

/** The applied fields of every object, by uid and field manager. */
export class FieldOwnership {
  #ownership = new Map<string, Ownership>();

  /** Applies a configuration: creates the object or merges into it. */
  apply(
    t: Target,
    request: ApplyRequest,
    context: ApplyContext,
  ): { object: KubeObject; created: boolean } {
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
    const applied = structuredClone(request.body);
    const am = meta(applied);
    if (am.name !== undefined && am.name !== t.name) {
      throw badRequest(
        `the name of the object (${am.name}) does not match the name on the URL (${t.name})`,
      );
    }
    const existing = context.existing;
    const scope: JsonObject = t.subresource === "status"
      ? { status: applied.status ?? {} }
      : Object.fromEntries(
        Object.entries(applied).filter(([k]) =>
          k !== "apiVersion" && k !== "kind" &&
          !(t.version.status && k === "status")
        ),
      );
    const sm = isObject(scope.metadata) ? scope.metadata : undefined;
    if (sm) {
      for (const f of [...SERVER_FIELDS, "name", "namespace", "generateName"]) {
        delete sm[f];
      }
      if (Object.keys(sm).length === 0) delete scope.metadata;
    }
    const paths = new Set(leafPaths(scope));
    if (!existing) {
      const created = context.create({
        ...applied,
        metadata: { ...am, name: t.name ?? "" },
      }, {
        dryRun: request.dryRun,
      });
      if (!request.dryRun) {
        this.#ownership.set(
          String(created.metadata.uid),
          new Map([[manager, paths]]),
        );
      }
      return { object: created, created: true };
    }
    const uid = String(existing.metadata.uid);
    const owners: Ownership = this.#ownership.get(uid) ?? new Map();
    const conflicts: string[] = [];
    for (const [other, owned] of owners) {
      if (other === manager) continue;
      for (const p of paths) {
        if (
          owned.has(p) && !deepEqual(valueAt(existing, p), valueAt(scope, p))
        ) {
          conflicts.push(
            `conflict with "${other}": .${p.slice(1).replace(/\//g, ".")}`,
          );
        }
      }
    }
    if (conflicts.length > 0 && !request.force) {
      throw new ApiStatusError(409, {
        reason: "Conflict",
        message: `Apply failed with ${conflicts.length} conflict${
          conflicts.length === 1 ? "" : "s"
        }: ${conflicts.join("\n")}`,
        details: {
          name: t.name,
          group: t.def.group || undefined,
          kind: t.def.plural,
          causes: conflicts.map((c) => ({
            reason: "FieldManagerConflict",
            message: c,
          })),
        },
      });
    }
    let next = applyMerge(structuredClone(existing), scope) as JsonObject;
    const previous = owners.get(manager) ?? new Set<string>();
    for (const p of previous) {
      if (paths.has(p)) continue;
      const sharedElsewhere = [...owners].some(([o, owned]) =>
        o !== manager && owned.has(p)
      );
      if (!sharedElsewhere) deleteAt(next, p);
    }
    if (typeof am.resourceVersion === "string") {
      meta(next).resourceVersion = am.resourceVersion;
    }
    next = structuredClone(next);
    const object = context.write(next, { dryRun: request.dryRun });
    if (!request.dryRun) {
      for (const [other, owned] of owners) {
        if (other === manager) continue;
        if (request.force) { for (const p of paths) owned.delete(p); }
      }
      owners.set(manager, paths);
      this.#ownership.set(uid, owners);
    }
    return { object, created: false };
  }

  /** Fields changed by a non-apply write stop belonging to the appliers that set them. */
  releaseChangedFields(
    before: JsonObject,
    after: JsonObject,
    manager?: string,
  ): void {
    const owners = this.#ownership.get(String(meta(before).uid));
    if (!owners) return;
    for (const [name, owned] of owners) {
      if (name === manager) continue;
      for (const p of [...owned]) {
        if (!deepEqual(valueAt(before, p), valueAt(after, p))) owned.delete(p);
      }
    }
  }

  /** Forgets a removed object. */
  forget(uid: string): void {
    this.#ownership.delete(uid);
  }
}
