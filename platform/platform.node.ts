/**
 * The platform module for Node: HTTP serving on `node:http`/`node:https`,
 * DNS on `node:dns/promises`, signals, environment and exit on `process`.
 * The npm build puts it in place of `platform.deno.ts`; both have the same
 * exports and types (`types.ts`).
 *
 * @module
 */
import { createServer as createHttpServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { Resolver } from "node:dns/promises";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { Readable } from "node:stream";
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
export const runtime: "deno" | "node" = "node";

/**
 * Starts an HTTP server (HTTPS when `tls` is given) and resolves once it
 * listens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "./platform.node.ts";
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
  const scheme = options.tls ? "https" : "http";
  const inFlight = new Set<AbortController>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const aborter = new AbortController();
    inFlight.add(aborter);
    res.once("close", () => {
      inFlight.delete(aborter);
      if (!res.writableFinished) aborter.abort();
    });
    respond(req, res, { handler, scheme, signal: aborter.signal });
  };
  const server: Server = options.tls
    ? createHttpsServer(
      { cert: options.tls.cert, key: options.tls.key },
      listener,
    )
    : createHttpServer(listener);
  // Not `once(server, "close")`: that rejects on a listen error, which the
  // caller only sees through the rejected `serve()`, leaving it unhandled.
  const finished = new Promise<void>((resolve) =>
    server.once("close", () => resolve())
  );
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> => {
    if (stopping) return stopping;
    if (!server.listening) return finished;
    stopping = finished;
    server.close();
    for (const aborter of inFlight) aborter.abort();
    server.closeAllConnections();
    return stopping;
  };
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(options.signal.reason);
      return;
    }
    server.once("error", reject);
    server.listen(options.port, options.hostname ?? "0.0.0.0", () => {
      server.off("error", reject);
      server.on("error", (error) => console.error("HTTP server:", error));
      options.signal?.addEventListener("abort", () => shutdown(), {
        once: true,
      });
      const address = server.address() as AddressInfo;
      resolve({
        port: address.port,
        hostname: address.address,
        shutdown,
        finished,
      });
    });
  });
}

interface RespondOptions {
  handler: Handler;
  scheme: string;
  signal: AbortSignal;
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  options: RespondOptions,
): Promise<void> {
  let response: Response;
  try {
    response = await options.handler(toRequest(req, options), {
      hostname: req.socket.remoteAddress ?? "",
      port: req.socket.remotePort ?? 0,
    });
  } catch (error) {
    console.error("HTTP handler failed:", error);
    response = new Response("internal error", { status: 500 });
  }
  try {
    await writeResponse(req, res, response);
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

function toRequest(
  req: IncomingMessage,
  options: RespondOptions,
): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const host = req.headers.host ?? `${req.socket.localAddress}`;
  const url = new URL(req.url ?? "/", `${options.scheme}://${host}`);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = {
    method,
    headers,
    signal: options.signal,
  };
  if (hasBody) {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(url, init);
}

async function writeResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  const body = response.body;
  if (body === null || req.method === "HEAD") {
    await body?.cancel();
    res.end();
    return;
  }
  res.flushHeaders();
  const reader = body.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  res.once("close", cancel);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (res.destroyed) return;
      if (!res.write(value)) await drained(res);
    }
  } finally {
    res.off("close", cancel);
  }
  res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}

/**
 * The answers Deno reports as `Deno.errors.NotFound`: no such name, no
 * records of the type, and a server that refuses the name.
 */
const NO_RECORDS = new Set(["ENOTFOUND", "ENODATA", "EREFUSED"]);

/** The error Deno names `NotFound`, so callers test `error.name` alike. */
class NotFound extends Error {
  override name = "NotFound";
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
 * import { resolveDns } from "./platform.node.ts";
 * // The pods behind a headless Service (from inside the cluster).
 * const podAddresses = (service: string) => resolveDns(`${service}.default.svc.cluster.local`, "A");
 * ```
 */
export async function resolveDns(
  name: string,
  type: DnsRecordType,
  options: ResolveOptions = {},
): Promise<string[] | SrvRecord[]> {
  const { signal, nameServer } = options;
  signal?.throwIfAborted();
  const resolver = new Resolver();
  if (nameServer) {
    const ip = nameServer.ipAddr.includes(":")
      ? `[${nameServer.ipAddr}]`
      : nameServer.ipAddr;
    resolver.setServers([`${ip}:${nameServer.port}`]);
  }
  const cancel = () => resolver.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    if (type === "SRV") {
      const records = await resolver.resolveSrv(name);
      return records.map((r) => ({
        priority: r.priority,
        weight: r.weight,
        port: r.port,
        target: r.name.endsWith(".") ? r.name : `${r.name}.`,
      }));
    }
    return type === "A"
      ? await resolver.resolve4(name)
      : await resolver.resolve6(name);
  } catch (error) {
    signal?.throwIfAborted();
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && NO_RECORDS.has(code)) {
      throw new NotFound(
        `Expected ${type} records for ${name}, found none (${code})`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

/**
 * Calls `handler` when the process receives `signal`; returns a function
 * that removes the handler.
 *
 * @example
 * ```ts
 * import { onSignal } from "./platform.node.ts";
 * let stopping = false;
 * const off = onSignal("SIGTERM", () => stopping = true);
 * off(); // when the handler is no longer wanted
 * ```
 */
export function onSignal(
  signal: ShutdownSignal,
  handler: () => void,
): () => void {
  const listener = () => handler();
  process.on(signal, listener);
  return () => {
    process.off(signal, listener);
  };
}

/**
 * Reads an environment variable; `undefined` when it is not set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getEnv } from "./platform.node.ts";
 * const pod = getEnv("POD_NAME") ?? "my-op-0"; // set by the StatefulSet in a pod
 * assert.equal(typeof pod, "string");
 * ```
 */
export function getEnv(name: string): string | undefined {
  return process.env[name];
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts
 * import { exit } from "./platform.node.ts";
 * const fail = (message: string): never => {
 *   console.error(message);
 *   exit(1);
 * };
 * ```
 */
export function exit(code: number): never {
  process.exit(code);
}

/**
 * The command-line arguments after the script name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { args } from "./platform.node.ts";
 * const [seed = "1"] = args();
 * assert.equal(typeof seed, "string");
 * ```
 */
export function args(): string[] {
  return process.argv.slice(2);
}
