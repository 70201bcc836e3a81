/**
 * Free TCP ports on loopback for harnesses that start servers.
 *
 * @module
 */
import { createServer } from "node:net";

/**
 * Free TCP ports on 127.0.0.1, distinct: each is bound to port 0 and
 * released. Another process may take one between its release and its
 * use; {@linkcode startReplicas} starts over with new ports when a replica
 * then fails to start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freeLoopbackPorts } from "@k8s-operator/k8s-operator/testing";
 * const [raft, http] = await freeLoopbackPorts(2);
 * assert.notEqual(raft, http);
 * ```
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    ports.add(
      await new Promise<number>((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          const port = typeof address === "object" && address
            ? address.port
            : 0;
          server.close(() => resolve(port));
        });
      }),
    );
  }
  return [...ports];
}
