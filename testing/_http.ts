/**
 * An HTTPS server that speaks only HTTP/1.1, adapting `node:https` to a
 * web-standard `Request` → `Response` handler (streamed bodies included).
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
import { Readable } from "node:stream";

/** A running HTTPS server. */
export interface HttpsServer {
  port: number;
  /** Closes the listener and every open connection. */
  close(): Promise<void>;
}

function toRequest(req: IncomingMessage, origin: string): Request {
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
    body: hasBody
      ? Readable.toWeb(req) as ReadableStream<Uint8Array>
      : undefined,
    // @ts-ignore: Node's fetch needs `duplex` for a streamed body; Deno ignores it.
    duplex: hasBody ? "half" : undefined,
  });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  if (!response.body) {
    res.writeHead(response.status, headers);
    res.end();
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

/** Starts an HTTPS (HTTP/1.1) server on a free port. */
export function serveHttps(
  handler: (request: Request) => Promise<Response>,
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
        handler(toRequest(req, origin))
          .then((response) => send(res, response))
          .catch((error) => {
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
