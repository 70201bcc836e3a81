/**
 * Internal: waits until the API server serves a custom resource whose
 * definition was just applied — the definition `Established`, and a list
 * of the resource answered (a new API group is routed a moment after the
 * definition is established, "404 page not found" until then; the
 * resource's storage then answers 429 while it initializes).
 *
 * @module
 */
import { isApiError } from "../client/errors.ts";
import type { KubeClient } from "../client/kube_client.ts";
import { CrdNotEstablishedError } from "./errors.ts";

/** How often the definition is read again while waiting, in milliseconds. */
const POLL_MS = 50;
const NO_ANSWER = "no answer yet";

interface Condition {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

interface Definition {
  status?: { conditions?: unknown };
}

/** Which resource the definition serves. */
export interface ServedResource {
  /** The definition's name, `<plural>.<group>`. */
  name: string;
  group: string;
  version: string;
  plural: string;
}

function conditionsOf(definition: Definition): Condition[] {
  const conditions = definition.status?.conditions;
  return Array.isArray(conditions)
    ? conditions.filter((c): c is Condition =>
      typeof c === "object" && c !== null
    )
    : [];
}

function describe(condition: Condition): string {
  const detail = [condition.reason, condition.message].filter((s) =>
    typeof s === "string" && s !== ""
  ).join(": ");
  return `${condition.type}=${condition.status}${
    detail === "" ? "" : ` (${detail})`
  }`;
}

/**
 * `undefined` once a list of the resource succeeds (or, for a client not
 * allowed to list it, once discovery lists it); else what is lacking. A
 * real server answers 404 until the new group is routed, and 429 while the
 * resource's storage initializes.
 */
async function notServed(
  client: KubeClient,
  options: { resource: ServedResource; signal: AbortSignal },
): Promise<string | undefined> {
  const { resource, signal } = options;
  const base = `/apis/${resource.group}/${resource.version}`;
  const list = await client.fetch("GET", `${base}/${resource.plural}`, {
    query: { limit: 1 },
    signal,
  });
  await list.text();
  if (list.ok) return undefined;
  if (list.status !== 401 && list.status !== 403) {
    return `it Established, but a list of ${resource.plural} answered HTTP ${list.status}`;
  }
  const discovery = await client.fetch("GET", base, { signal });
  const text = await discovery.text();
  let listed = false;
  if (discovery.ok) {
    try {
      const resources = (JSON.parse(text) as { resources?: unknown }).resources;
      listed = Array.isArray(resources) &&
        resources.some((r) => r?.name === resource.plural);
    } catch {
      listed = false;
    }
  }
  return listed
    ? undefined
    : `it Established, but ${base} not listing ${resource.plural} yet`;
}

/**
 * Resolves with the definition once it is `Established` and the resource
 * served (a list of it succeeds). Rejects with `CrdNotEstablishedError` at once when its
 * names are refused (`NamesAccepted=False`), or when `timeoutMs` passes;
 * with the `ApiError` at once when a request is refused (a status below
 * 500 other than 404 and 429). Other failures are retried until the
 * deadline.
 */
export async function waitUntilServed<T>(
  client: KubeClient,
  options: { resource: ServedResource; timeoutMs: number },
): Promise<T> {
  const { resource, timeoutMs } = options;
  const deadline = performance.now() + timeoutMs;
  const path =
    `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${resource.name}`;
  let found = NO_ANSWER;
  while (true) {
    // Node's AbortSignal.timeout takes whole milliseconds only (a
    // fraction is a RangeError there; Deno rounds).
    const left = Math.ceil(deadline - performance.now());
    const signal = AbortSignal.timeout(Math.max(1, left));
    try {
      const definition = await client.request<T>("GET", path, { signal });
      const conditions = conditionsOf(definition as Definition);
      const names = conditions.find((c) => c.type === "NamesAccepted");
      if (names?.status === "False") {
        throw new CrdNotEstablishedError(
          resource.name,
          `Expected the CustomResourceDefinition ${resource.name} to be Established, found its names refused: ${
            describe(names)
          }`,
        );
      }
      const established = conditions.find((c) => c.type === "Established");
      if (established?.status === "True") {
        const lacking = await notServed(client, { resource, signal });
        if (lacking === undefined) return definition;
        found = lacking;
      } else {
        found = established === undefined
          ? "no Established condition yet"
          : describe(established);
      }
    } catch (error) {
      if (error instanceof CrdNotEstablishedError) throw error;
      if (
        isApiError(error) && error.status < 500 && error.status !== 404 &&
        error.status !== 429
      ) {
        throw error;
      }
      // A request cut by the deadline tells nothing new: keep what the
      // previous one found.
      if (!signal.aborted || found === NO_ANSWER) {
        found = `the last request failing: ${
          error instanceof Error ? error.message : String(error)
        }`;
      }
    }
    const wait = deadline - performance.now();
    if (wait <= 0) {
      throw new CrdNotEstablishedError(
        resource.name,
        `Expected the CustomResourceDefinition ${resource.name} to be Established and served within ${timeoutMs} ms, found ${found}`,
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_MS, wait))
    );
  }
}
