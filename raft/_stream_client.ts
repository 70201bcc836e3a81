/**
 * Internal: the client side of one long-lived HTTP/1.1 request whose body is
 * streamed in chunks (`Transfer-Encoding: chunked`) and whose response body
 * streams back, over `node:net` or `node:tls` (both runtimes) with Nagle's
 * algorithm off.
 *
 * Why not `fetch`: Deno's `fetch` turns `TCP_NODELAY` off on its sockets.
 * On a stream of small frames that the receiver answers on the same
 * connection, the kernel then holds each frame until the previous one is
 * acknowledged, and the receiver's kernel delays that acknowledgement (up
 * to 40 ms) whenever it takes segments of equal size for full ones: frames
 * stalled for 40 ms every few dozen. A request that is written as it goes
 * needs the socket's own control.
 *
 * @module
 */
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";

/** The response of a streamed request. */
export interface StreamResponse {
  /** The HTTP status. */
  status: number;
  /** The response headers, lower-case names. */
  headers: Map<string, string>;
  /**
   * The body as it arrives (de-chunked): `null` when it ended, an error
   * when the connection broke.
   */
  read(): Promise<Uint8Array | null>;
  /** Reads what is left of the body as text, up to `limit` bytes. */
  text(limit?: number): Promise<string>;
}

/** What {@linkcode openStream} needs. */
export interface StreamTarget {
  /** The base URL (`http://host:port` or `https://...`). */
  base: string;
  /** The path to POST to. */
  path: string;
  /** Headers to send, besides `host` and `transfer-encoding`. */
  headers: Record<string, string>;
  /** PEM CA certificates trusted for `https:` (default: the system's). */
  ca?: string | string[];
}

/** Largest response head accepted (status line and headers). */
const MAX_HEAD = 16 * 1024;

const CRLF = new Uint8Array([13, 10]);

/** A POST whose body is written chunk by chunk while the response streams in. */
export class StreamRequest {
  readonly #socket: Socket;
  readonly response: Promise<StreamResponse>;
  #ended = false;
  /** Bytes the body parser has not consumed yet. */
  #buf: Uint8Array = new Uint8Array(0);
  #waiting: (() => void) | null = null;
  #error: Error | null = null;
  #closed = false;

  private constructor(socket: Socket, target: StreamTarget, host: string) {
    this.#socket = socket;
    socket.setNoDelay(true);
    const head = [
      `POST ${target.path} HTTP/1.1`,
      `host: ${host}`,
      "transfer-encoding: chunked",
      ...Object.entries(target.headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    socket.write(new TextEncoder().encode(head));
    socket.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(this.#buf.length + chunk.length);
      next.set(this.#buf);
      next.set(chunk, this.#buf.length);
      this.#buf = next;
      this.#wake();
    });
    socket.on("error", (error: Error) => {
      this.#error ??= error;
      this.#wake();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    this.response = this.#readHead();
  }

  /** Connects to `target.base` and sends the request head. */
  static open(target: StreamTarget): StreamRequest {
    const url = new URL(target.base);
    const tls = url.protocol === "https:";
    const port = Number(url.port || (tls ? 443 : 80));
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const socket = tls
      ? connectTls({
        host: hostname,
        port,
        servername: /^[\d.]+$|:/.test(hostname) ? undefined : hostname,
        ca: target.ca,
        ALPNProtocols: ["http/1.1"],
      })
      : connectTcp({ host: hostname, port });
    return new StreamRequest(socket, target, url.host);
  }

  /** Bytes written and not yet handed to the operating system. */
  get buffered(): number {
    return this.#socket.writableLength;
  }

  /** Writes one chunk of the body. */
  write(bytes: Uint8Array): void {
    if (this.#ended || bytes.length === 0) return;
    const size = new TextEncoder().encode(bytes.length.toString(16));
    const out = new Uint8Array(size.length + 2 + bytes.length + 2);
    out.set(size);
    out.set(CRLF, size.length);
    out.set(bytes, size.length + 2);
    out.set(CRLF, out.length - 2);
    this.#socket.write(out);
  }

  /** Ends the body; the response may still arrive. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.write(new TextEncoder().encode("0\r\n\r\n"));
  }

  /** Drops the connection. */
  abort(): void {
    this.#ended = true;
    this.#error ??= Object.assign(new Error("The stream was aborted"), {
      name: "AbortError",
    });
    this.#socket.destroy();
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiting;
    this.#waiting = null;
    w?.();
  }

  /** Resolves when bytes arrive, the socket fails or closes. */
  #more(): Promise<void> {
    return new Promise((resolve) => this.#waiting = resolve);
  }

  #failure(what: string): Error {
    if (this.#error !== null) return this.#error;
    return new TypeError(`Expected ${what}, found the connection closed`);
  }

  async #readHead(): Promise<StreamResponse> {
    let end: number;
    while ((end = indexOfHeadEnd(this.#buf)) < 0) {
      if (this.#buf.length > MAX_HEAD) {
        this.#socket.destroy();
        throw new TypeError(
          `Expected a response head of at most ${MAX_HEAD} bytes, found more`,
        );
      }
      if (this.#error !== null || this.#closed) {
        throw this.#failure("a response");
      }
      await this.#more();
    }
    const lines = new TextDecoder().decode(this.#buf.subarray(0, end)).split(
      "\r\n",
    );
    this.#buf = this.#buf.subarray(end + 4);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
    if (!Number.isInteger(status)) {
      this.#socket.destroy();
      throw new TypeError(
        `Expected an HTTP/1.1 status line, found ${JSON.stringify(lines[0])}`,
      );
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        headers.set(
          line.slice(0, colon).trim().toLowerCase(),
          line.slice(colon + 1).trim(),
        );
      }
    }
    const chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
    let left = chunked
      ? 0
      : Number(headers.get("content-length") ?? (status === 204 ? 0 : NaN));
    let done = status === 204 || left === 0 && !chunked;
    const read = async (): Promise<Uint8Array | null> => {
      while (!done) {
        if (!chunked) {
          if (this.#buf.length > 0) {
            const n = Number.isNaN(left)
              ? this.#buf.length
              : Math.min(left, this.#buf.length);
            const piece = this.#buf.slice(0, n);
            this.#buf = this.#buf.subarray(n);
            if (!Number.isNaN(left)) {
              left -= n;
              done = left === 0;
            }
            return piece;
          }
          if (this.#closed && Number.isNaN(left)) return null;
        } else if (left > 0) {
          if (this.#buf.length > 0) {
            const n = Math.min(left, this.#buf.length);
            const piece = this.#buf.slice(0, n);
            this.#buf = this.#buf.subarray(n);
            left -= n;
            return piece;
          }
        } else {
          // A chunk's size line (after the previous chunk's CRLF).
          const skip = left === 0 && this.#sawChunk ? 2 : 0;
          const line = indexOfCrlf(this.#buf, skip);
          if (line >= 0) {
            const size = parseInt(
              new TextDecoder().decode(this.#buf.subarray(skip, line)),
              16,
            );
            if (!Number.isSafeInteger(size) || size < 0) {
              this.#socket.destroy();
              throw new TypeError("Expected a chunk size, found other bytes");
            }
            this.#buf = this.#buf.subarray(line + 2);
            this.#sawChunk = true;
            if (size === 0) {
              done = true;
              return null;
            }
            left = size;
            continue;
          }
        }
        if (this.#error !== null || this.#closed) {
          throw this.#failure("the rest of the response");
        }
        await this.#more();
      }
      return null;
    };
    const text = async (limit = 64 * 1024): Promise<string> => {
      const parts: Uint8Array[] = [];
      let size = 0;
      for (let piece = await read(); piece !== null; piece = await read()) {
        size += piece.length;
        if (size > limit) break;
        parts.push(piece);
      }
      const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return new TextDecoder().decode(all);
    };
    return { status, headers, read, text };
  }

  #sawChunk = false;
}

function indexOfHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (
      buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
      buf[i + 3] === 10
    ) return i;
  }
  return -1;
}

function indexOfCrlf(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}
