/**
 * The errors of the crd module.
 *
 * @module
 */

import type { FieldProblem } from "../client/schema.ts";

export type { FieldProblem };

function listProblems(problems: readonly FieldProblem[]): string {
  return problems.map((p) => `${p.path || "(root)"}: ${p.message}`).join(
    "; ",
  );
}

/**
 * A value does not match a resource's schema. `fields` lists every problem
 * found, not only the first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, ValidationError } from "@k8s-operator/k8s-operator/crd";
 * const Website = defineCustomResource({
 *   group: "example.k8s-operator.dev", version: "v1", kind: "Website", scope: "Namespaced",
 *   spec: Type.Object({ domain: Type.String(), replicas: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ readyReplicas: Type.Optional(Type.Integer()) }),
 * });
 * const candidate = { apiVersion: Website.apiVersion, kind: "Website", metadata: { name: "blog" }, spec: { replicas: 0 } };
 * assert.throws(() => Website.validate(candidate), (error) =>
 *   error instanceof ValidationError &&
 *   error.fields.map((f) => f.path).join() === "spec.domain,spec.replicas"); // every problem, not the first
 * ```
 */
export class ValidationError extends Error {
  /** Every problem found, each with its path. */
  readonly fields: readonly FieldProblem[];
  /**
   * The schema paths whose CEL rules (`x-kubernetes-validations`) were not
   * evaluated: only the API server evaluates them, so a value can still be
   * refused there for them.
   */
  readonly serverOnlyRules: readonly string[];

  /**
   * Lists the problems of one value.
   *
   * @param subject What was validated, such as `Website "blog"`.
   * @param details The problems found (at least one), alone or with the
   *   paths of the CEL rules that were not evaluated.
   */
  constructor(
    subject: string,
    details: readonly FieldProblem[] | {
      fields: readonly FieldProblem[];
      serverOnlyRules?: readonly string[];
    },
  ) {
    const fields = "fields" in details ? details.fields : details;
    const rules = "fields" in details ? details.serverOnlyRules ?? [] : [];
    super(
      `Invalid ${subject}: ${listProblems(fields)}${
        rules.length === 0
          ? ""
          : ` (not checked here: the CEL rules (x-kubernetes-validations) at ${
            rules.join(", ")
          }, which only the API server evaluates)`
      }`,
    );
    this.name = "ValidationError";
    this.fields = fields;
    this.serverOnlyRules = rules;
  }
}

/**
 * A schema that Kubernetes would reject as non-structural, or that uses a
 * keyword a CustomResourceDefinition cannot carry. Thrown by
 * `defineCustomResource` at definition time. `problems` names each path and
 * the rule it breaks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, NonStructuralSchemaError } from "@k8s-operator/k8s-operator/crd";
 * assert.throws(
 *   () => defineCustomResource({
 *     group: "example.k8s-operator.dev", version: "v1", kind: "Bag", scope: "Namespaced",
 *     spec: Type.Object({ any: Type.Unknown() }), // no type: not structural
 *   }),
 *   (error) => error instanceof NonStructuralSchemaError && error.problems[0].path === "spec.any",
 * );
 * ```
 */
export class NonStructuralSchemaError extends Error {
  /** Every violation, each with the path of the schema node and the rule. */
  readonly problems: readonly FieldProblem[];

  /**
   * Lists the violations of one resource's schemas.
   *
   * @param kind The kind whose schema was checked.
   * @param problems The violations found (at least one).
   */
  constructor(kind: string, problems: readonly FieldProblem[]) {
    super(
      `Expected a structural schema for ${kind}, found ${problems.length} problem${
        problems.length === 1 ? "" : "s"
      }: ${listProblems(problems)}`,
    );
    this.name = "NonStructuralSchemaError";
    this.problems = problems;
  }
}

/**
 * The options given to `defineCustomResource` are invalid: a malformed
 * group, version, kind or name, or a printer column that points nowhere.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import Type from "typebox";
 * import { defineCustomResource, InvalidDefinitionError } from "@k8s-operator/k8s-operator/crd";
 * assert.throws(
 *   () => defineCustomResource({
 *     group: "example.k8s-operator.dev", version: "v1", kind: "website", scope: "Namespaced",
 *     spec: Type.Object({}),
 *   }),
 *   InvalidDefinitionError, // kind must be CamelCase
 * );
 * ```
 */
export class InvalidDefinitionError extends Error {
  /**
   * Describes one malformed option.
   *
   * @param message What was expected and what was found.
   */
  constructor(message: string) {
    super(message);
    this.name = "InvalidDefinitionError";
  }
}

/**
 * The API server's response could not be understood: an object of another
 * kind, a list without items, or a watch line that is not an event. (A body
 * that is not JSON at all is an `ApiError` with reason `MalformedResponse`,
 * from the `KubeClient`.)
 *
 * @example
 * ```ts
 * import { MalformedResponseError, type ResourceClient } from "@k8s-operator/k8s-operator/crd";
 * async function getOrExplain<T>(websites: ResourceClient<T>): Promise<T> {
 *   try {
 *     return await websites.get("blog");
 *   } catch (error) {
 *     if (error instanceof MalformedResponseError) console.error(error.request, error.message);
 *     throw error;
 *   }
 * }
 * ```
 */
export class MalformedResponseError extends Error {
  /** The request whose response was malformed. */
  readonly request: string;

  /**
   * Describes one response that could not be understood.
   *
   * @param request The method and path of the request.
   * @param message What was expected and what was found.
   */
  constructor(request: string, message: string) {
    super(`Malformed response to ${request}: ${message}`);
    this.name = "MalformedResponseError";
    this.request = request;
  }
}

/**
 * `CustomResource.install` applied the definition, but the API server did
 * not establish it: it refused its names (another definition holds the
 * kind or plural), or did not establish and serve it within the timeout.
 * The message says what it found last.
 *
 * @example
 * ```ts
 * import { CrdNotEstablishedError, type CustomResource } from "@k8s-operator/k8s-operator/crd";
 * import type { KubeConfig } from "@kubernetes/client-node";
 * async function installOrExplain(resource: CustomResource, kubeConfig: KubeConfig): Promise<void> {
 *   try {
 *     await resource.install(kubeConfig, { fieldManager: "website-operator", timeoutMs: 60_000 });
 *   } catch (error) {
 *     if (error instanceof CrdNotEstablishedError) console.error(error.definition, error.message);
 *     throw error;
 *   }
 * }
 * ```
 */
export class CrdNotEstablishedError extends Error {
  /** The definition's name, `<plural>.<group>`. */
  readonly definition: string;

  /**
   * Describes a definition that was not established.
   *
   * @param definition The definition's name.
   * @param message What was expected and what was found.
   */
  constructor(definition: string, message: string) {
    super(message);
    this.name = "CrdNotEstablishedError";
    this.definition = definition;
  }
}
