/**
 * An HTTPS server that speaks only HTTP/1.1, adapting `node:https` to a
 * web-standard `Request` → `Response` handler (streamed response bodies;
 * request bodies are read whole first, see `readBody`).
 *
 * Why not `platform/mod.ts` `serve()`: `Deno.serve` always offers HTTP/2
 * through ALPN, `@kubernetes/client-node` 2.x fetches through undici, which
 * accepts HTTP/2 by default, and Deno's `node:http2` client aborts the whole
 * process (an nghttp2 assertion) when the server closes HTTP/2 sessions on
 * shutdown — which a test server does at the end of every test. A
 * `node:https` server negotiates HTTP/1.1 only, and runs unchanged on Node.
 *
 * @module
 */
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";

/** A running HTTPS server. */
export interface HttpsServer {
  port: number;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

/** Responses whose bodies are streamed (watches); others are sent in one write. */
export const STREAMED: WeakSet<Response> = new WeakSet();

/**
 * The most request body bytes kept; anything beyond is read and dropped, so
 * the handler sees a body over its own limit (3 MiB) and answers 413.
 */
const BODY_KEEP_BYTES = 4 * 1024 * 1024;

/**
 * Reads the whole request body before the handler runs. A streamed body
 * (`Readable.toWeb(req)`) breaks on Node when the handler answers without
 * reading it (fault injection, 413): cancelling the web stream destroys the
 * request while the socket still parses its body, the adapter's `data`
 * listener then throws `ERR_INVALID_STATE` inside the HTTP parser, the
 * server writes `400 Bad Request` instead of the handler's answer and the
 * exception escapes as an uncaught error. Kubernetes request bodies are
 * small, so reading them first costs nothing.
 */
async function readBody(
  req: IncomingMessage,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let kept = 0;
  for await (const chunk of req as AsyncIterable<Uint8Array>) {
    if (kept > BODY_KEEP_BYTES) continue;
    chunks.push(chunk);
    kept += chunk.byteLength;
  }
  const body = new Uint8Array(kept);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

async function toRequest(
  req: IncomingMessage,
  origin: string,
): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const v of value) headers.append(name, v);
    } else headers.set(name, value);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(req.url ?? "/", origin), {
    method,
    headers,
    body: hasBody ? await readBody(req) : undefined,
  });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  if (!response.body || !STREAMED.has(response)) {
    const body = new Uint8Array(await response.arrayBuffer());
    headers["content-length"] = String(body.length);
    res.writeHead(response.status, headers);
    res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on("close", () => {
    reader.cancel().catch(() => {});
  });
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
      if (res.destroyed) break;
    }
    res.end();
  } catch {
    // The stream was aborted on purpose (fault injection) or the client left.
    res.socket?.destroy();
    res.destroy();
  }
}

/** What the server knows of a request beyond the request itself. */
export interface RequestInfo {
  /** The address of the client's end of the connection. */
  remoteAddress: string;
}

/** Starts an HTTPS (HTTP/1.1) server on a free port. */
export function serveHttps(
  handler: (request: Request, info: RequestInfo) => Promise<Response>,
  options: { hostname: string; cert: string; key: string },
): Promise<HttpsServer> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer(
      { cert: options.cert, key: options.key, keepAliveTimeout: 5000 },
      (req, res) => {
        const host = options.hostname.includes(":")
          ? `[${options.hostname}]`
          : options.hostname;
        const origin = `https://${host}`;
        const info = { remoteAddress: req.socket.remoteAddress ?? "" };
        toRequest(req, origin)
          .then((request) => handler(request, info))
          .then((response) => send(res, response))
          .catch((error) => {
            // The client left while sending its body: nobody to answer.
            if (res.destroyed || res.headersSent) return;
            res.writeHead(500, { "content-type": "text/plain" });
            res.end(`internal error: ${error}`);
          });
      },
    );
    server.once("error", reject);
    server.listen(0, options.hostname, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
