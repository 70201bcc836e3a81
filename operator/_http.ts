/**
 * Internal: the operator's HTTP endpoints besides Raft: `/healthz` (the
 * Raft node has not failed), `/readyz` (caught up with the leader's
 * commit) and `/metrics`.
 *
 * @module
 */
import type { Readiness } from "./operator.ts";

/** What the endpoints report on. */
export interface Probed {
  /** Why the Raft node failed, or `null` while it runs. */
  failure(): Error | null;
  /** Whether the node is caught up with the leader's commit. */
  readiness(): Readiness;
  /** Answers `GET /metrics`. */
  metrics(request: Request): Response | Promise<Response>;
}

/**
 * Answers a request to the HTTP server: `503 Starting` until `probed()`
 * returns something, then `/healthz`, `/readyz` and `/metrics` (GET and
 * HEAD only).
 */
export async function answer(
  request: Request,
  probed: Probed | null,
): Promise<Response> {
  if (probed === null) return text(503, "Starting");
  const path = new URL(request.url).pathname;
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text(405, "Expected GET");
  }
  if (path === "/healthz") {
    const failure = probed.failure();
    return failure === null
      ? text(200, "ok")
      : text(503, `Raft node failed: ${failure.message}`);
  }
  if (path === "/readyz") {
    const { ready, reason } = probed.readiness();
    return text(ready ? 200 : 503, reason);
  }
  if (path === "/metrics") return await probed.metrics(request);
  return text(404, "Not found: try /healthz, /readyz or /metrics");
}

function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
