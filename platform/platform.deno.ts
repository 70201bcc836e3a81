/**
 * The platform module for Deno: HTTP serving, DNS, signals, environment and
 * process exit. The npm build replaces this file with `platform.node.ts`.
 *
 * @module
 */
import type {
  DnsRecordType,
  Handler,
  HttpServer,
  ResolveOptions,
  ServeOptions,
  ShutdownSignal,
  SrvRecord,
} from "./types.ts";

/** The runtime this module was built for. */
export const runtime: "deno" | "node" = "deno";

/**
 * Starts an HTTP server (HTTPS when `tls` is given) and resolves once it
 * listens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "./platform.deno.ts";
 * const server = await serve(() => new Response("ok"), { port: 0, hostname: "127.0.0.1" });
 * const response = await fetch(`http://127.0.0.1:${server.port}/`);
 * assert.equal(await response.text(), "ok");
 * await server.shutdown();
 * ```
 */
export function serve(
  handler: Handler,
  options: ServeOptions,
): Promise<HttpServer> {
  const open = new Set<() => void>();
  /** The handlers still running, each ended with a 503 by shutdown. */
  const waiting = new Set<(response: Response) => void>();
  const shuttingDown = new Error("The server is shutting down");
  let stopping: Promise<void> | null = null;
  return new Promise((resolve, reject) => {
    try {
      const shutdown = (): Promise<void> => {
        if (stopping) return stopping;
        for (const end of waiting) {
          end(new Response("server shutting down", { status: 503 }));
        }
        for (const close of open) close();
        stopping = server.shutdown();
        return stopping;
      };
      const common = {
        port: options.port,
        hostname: options.hostname ?? "0.0.0.0",
        onListen: (addr: Deno.NetAddr) => {
          options.signal?.addEventListener("abort", () => shutdown(), {
            once: true,
          });
          resolve({
            port: addr.port,
            hostname: addr.hostname,
            shutdown,
            get finished() {
              return server.finished;
            },
          });
        },
        onError: (error: unknown) => {
          if (error !== shuttingDown) {
            console.error("HTTP handler failed:", error);
          }
          return new Response("internal error", { status: 500 });
        },
      };
      const wrapped = async (req: Request, info: Deno.ServeHandlerInfo) => {
        const addr = info.remoteAddr as Deno.NetAddr;
        if (stopping) {
          return new Response("server shutting down", { status: 503 });
        }
        // A promise of this request's own for shutdown to settle, dropped
        // once it has an answer: racing one long-lived promise instead adds
        // a reaction to it per request, which keeps every response (its
        // headers, its body) alive as long as the server runs.
        const ended = Promise.withResolvers<Response>();
        waiting.add(ended.resolve);
        let response: Response;
        try {
          response = await Promise.race([
            handler(req, { hostname: addr.hostname, port: addr.port }),
            ended.promise,
          ]);
        } finally {
          waiting.delete(ended.resolve);
        }
        if (response.body === null) return response;
        return new Response(
          closable(response.body, { open, reason: shuttingDown }),
          response,
        );
      };
      options.signal?.throwIfAborted();
      const server = options.tls
        ? Deno.serve({
          ...common,
          cert: options.tls.cert,
          key: options.tls.key,
        }, wrapped)
        : Deno.serve(common, wrapped);
    } catch (error) {
      reject(error);
    }
  });
}

/**
 * Wraps a response body so that shutdown can end it: Deno's own shutdown
 * waits for every response to finish, which a long-lived stream never does.
 */
function closable(
  body: ReadableStream<Uint8Array>,
  { open, reason }: { open: Set<() => void>; reason: Error },
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let close = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      close = () => {
        open.delete(close);
        controller.error(reason);
        reader.cancel().catch(() => {});
      };
      open.add(close);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (!open.has(close)) return;
      if (done) {
        open.delete(close);
        controller.close();
      } else {
        controller.enqueue(value);
      }
    },
    cancel(reason) {
      open.delete(close);
      return reader.cancel(reason);
    },
  });
}

/** Resolves A or AAAA records to addresses. */
export function resolveDns(
  name: string,
  type: "A" | "AAAA",
  options?: ResolveOptions,
): Promise<string[]>;
/** Resolves SRV records. */
export function resolveDns(
  name: string,
  type: "SRV",
  options?: ResolveOptions,
): Promise<SrvRecord[]>;
/**
 * Resolves DNS records of one type.
 *
 * @example
 * ```ts
 * import { resolveDns } from "./platform.deno.ts";
 * // The pods behind a headless Service (from inside the cluster).
 * const podAddresses = (service: string) => resolveDns(`${service}.default.svc.cluster.local`, "A");
 * ```
 */
export async function resolveDns(
  name: string,
  type: DnsRecordType,
  options: ResolveOptions = {},
): Promise<string[] | SrvRecord[]> {
  const opts = { nameServer: options.nameServer, signal: options.signal };
  if (type === "SRV") {
    const records = await Deno.resolveDns(name, "SRV", opts);
    return records.map((r) => ({
      priority: r.priority,
      weight: r.weight,
      port: r.port,
      target: r.target,
    }));
  }
  return await Deno.resolveDns(name, type, opts);
}

/**
 * Calls `handler` when the process receives `signal`; returns a function
 * that removes the handler.
 *
 * @example
 * ```ts
 * import { onSignal } from "./platform.deno.ts";
 * let stopping = false;
 * const off = onSignal("SIGTERM", () => stopping = true);
 * off(); // when the handler is no longer wanted
 * ```
 */
export function onSignal(
  signal: ShutdownSignal,
  handler: () => void,
): () => void {
  Deno.addSignalListener(signal, handler);
  return () => Deno.removeSignalListener(signal, handler);
}

/**
 * Reads an environment variable; `undefined` when it is not set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getEnv } from "./platform.deno.ts";
 * const pod = getEnv("POD_NAME") ?? "my-op-0"; // set by the StatefulSet in a pod
 * assert.equal(typeof pod, "string");
 * ```
 */
export function getEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts
 * import { exit } from "./platform.deno.ts";
 * const fail = (message: string): never => {
 *   console.error(message);
 *   exit(1);
 * };
 * ```
 */
export function exit(code: number): never {
  Deno.exit(code);
}

/**
 * The command-line arguments after the script name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { args } from "./platform.deno.ts";
 * const [seed = "1"] = args();
 * assert.equal(typeof seed, "string");
 * ```
 */
export function args(): string[] {
  return [...Deno.args];
}
