/**
 * What the API server's refusals become: {@linkcode ApiError} (a non-2xx
 * answer, with the Status object's reason and `Retry-After`), and
 * {@linkcode FencedError} (a fenced client refused to send).
 *
 * @module
 */

/**
 * A non-2xx answer from the API server.
 *
 * @example Telling a conflict from a missing object
 * ```ts
 * import assert from "node:assert/strict";
 * import { ApiError, KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await client.create(configMaps, { metadata: { name: "web", namespace: "default" } });
 * const error = await client.replace(configMaps, { metadata: { name: "web", namespace: "default", resourceVersion: "1" } })
 *   .catch((e) => e);
 * assert.ok(error instanceof ApiError);
 * assert.equal(error.status, 409); // a stale resourceVersion: re-read and retry
 * assert.equal(error.reason, "Conflict");
 * const gone = await client.get(configMaps, "other", { namespace: "default" }).catch((e) => e);
 * assert.equal(gone.reason, "NotFound"); // status 404; error.retryAfterSeconds is set on 429
 * ```
 */
export class ApiError extends Error {
  /** The error class name. */
  override name = "ApiError";
  /** HTTP status code. */
  readonly status: number;
  /** The Status object's `reason` (e.g. `Conflict`, `NotFound`), if any. */
  readonly reason: string | undefined;
  /** Seconds the server asked us to wait (`Retry-After`), if any. */
  readonly retryAfterSeconds: number | undefined;

  /** Builds an error from a status code and the server's Status body. */
  constructor(
    status: number,
    detail: { message?: string; reason?: string; retryAfterSeconds?: number },
  ) {
    super(
      `Expected a successful response, found HTTP ${status}${
        detail.reason ? ` ${detail.reason}` : ""
      }${detail.message ? `: ${detail.message}` : ""}`,
    );
    this.status = status;
    this.reason = detail.reason;
    this.retryAfterSeconds = detail.retryAfterSeconds;
  }
}

/**
 * Thrown when a fenced client is used after its signal aborted.
 *
 * @example Writes stop once leadership is lost
 * ```ts
 * import assert from "node:assert/strict";
 * import { FencedError, KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const leadership = new AbortController(); // aborted when this replica stops leading
 * const fenced = client.fenced(leadership.signal);
 * leadership.abort();
 * const configMaps = { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true };
 * await assert.rejects(
 *   fenced.delete(configMaps, "web", { namespace: "default" }),
 *   FencedError, // no longer leader: the new leader takes over
 * );
 * ```
 */
export class FencedError extends Error {
  /** The error class name. */
  override name = "FencedError";
}

/**
 * Whether `error` is an {@linkcode ApiError} with `status`.
 *
 * @example Create unless it exists; read if it exists
 * ```ts
 * import assert from "node:assert/strict";
 * import { isApiError, KubeClient } from "@k8s-operator/k8s-operator/controller";
 * import { TestApiServer } from "@k8s-operator/k8s-operator/testing";
 * await using server = await TestApiServer.start(); // in a pod: KubeClient.fromKubeConfig(loadKubeConfig())
 * const client = KubeClient.fromKubeConfig(server.kubeConfig());
 * const namespaces = { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false };
 * for (let i = 0; i < 2; i++) {
 *   try {
 *     await client.create(namespaces, { metadata: { name: "team-a" } });
 *   } catch (error) {
 *     if (!isApiError(error, 409)) throw error; // AlreadyExists the second time: fine
 *   }
 * }
 * const existing = await client.get(namespaces, "team-b").catch((error) => {
 *   if (isApiError(error, 404)) return undefined; // not there
 *   throw error;
 * });
 * assert.equal(existing, undefined);
 * ```
 */
export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError &&
    (status === undefined || error.status === status);
}

/**
 * The {@linkcode ApiError} for a failed response (reads its body).
 *
 * @example
 * ```ts
 * import { readApiError } from "./mod.ts";
 * const error = await readApiError(new Response("{}", { status: 500 }));
 * ```
 */
export async function readApiError(response: Response): Promise<ApiError> {
  return errorFromResponse(response, await response.text());
}

function errorFromResponse(response: Response, text: string): ApiError {
  let reason: string | undefined;
  let message: string | undefined;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason;
    message = status.message;
  } catch {
    message = text.slice(0, 200);
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return new ApiError(response.status, {
    reason,
    message,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0
      ? retryAfter
      : undefined,
  });
}
