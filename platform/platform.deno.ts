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
 * ```ts ignore
 * const server = await serve(() => new Response("ok"), { port: 0 });
 * console.log(server.port);
 * await server.shutdown();
 * ```
 */
export function serve(
  handler: Handler,
  options: ServeOptions,
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const common = {
        port: options.port,
        hostname: options.hostname ?? "0.0.0.0",
        signal: options.signal,
        onListen: (addr: Deno.NetAddr) => {
          resolve({
            port: addr.port,
            hostname: addr.hostname,
            shutdown: async () => {
              await server.shutdown();
            },
            get finished() {
              return server.finished;
            },
          });
        },
        onError: (error: unknown) => {
          console.error("HTTP handler failed:", error);
          return new Response("internal error", { status: 500 });
        },
      };
      const wrapped = (req: Request, info: Deno.ServeHandlerInfo) => {
        const addr = info.remoteAddr as Deno.NetAddr;
        return handler(req, { hostname: addr.hostname, port: addr.port });
      };
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
 * ```ts ignore
 * const addrs = await resolveDns("my-op-headless.default.svc.cluster.local", "A");
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
 * ```ts ignore
 * const off = onSignal("SIGTERM", () => node.shutdown());
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
 * ```ts ignore
 * const pod = getEnv("POD_NAME");
 * ```
 */
export function getEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts ignore
 * exit(1);
 * ```
 */
export function exit(code: number): never {
  Deno.exit(code);
}

/**
 * The command-line arguments after the script name.
 *
 * @example
 * ```ts ignore
 * const [seed] = args();
 * ```
 */
export function args(): string[] {
  return [...Deno.args];
}
