/**
 * A raw HTTPS client of one control plane, for the differential suite:
 * every request goes out byte for byte the same to both planes (same
 * path, body, content type and User-Agent), and the reply is kept whole
 * (status code and parsed body), as is every event of a watch.
 *
 * @module
 */
import { Agent, request } from "node:https";

/** What the client needs of a control plane. */
export interface PlaneAddress {
  url: string;
  token: string;
  caPem: string;
}

/** A reply: the HTTP status and the parsed JSON body (or the text). */
export interface Reply {
  status: number;
  body: unknown;
}

/** One event of a watch. */
export interface WatchEvent {
  type: string;
  object: unknown;
}

/** The User-Agent both planes see: field managers default to its first part. */
export const USER_AGENT = "k8s-operator-differential/1.0";

/** A request: method, path with query, and an optional body. */
export interface RequestSpec {
  method?: string;
  path: string;
  body?: unknown;
  /** Default `application/json` when there is a body. */
  contentType?: string;
}

/** A client of one plane. */
export class RawClient {
  readonly plane: PlaneAddress;
  #agent: Agent;

  constructor(plane: PlaneAddress) {
    this.plane = plane;
    this.#agent = new Agent({ keepAlive: true, ca: plane.caPem });
  }

  /** Sends one request and reads the whole reply. */
  send(spec: RequestSpec): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const url = new URL(spec.path, this.plane.url);
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.plane.token}`,
        accept: "application/json",
        "user-agent": USER_AGENT,
      };
      let payload: string | undefined;
      if (spec.body !== undefined) {
        payload = typeof spec.body === "string"
          ? spec.body
          : JSON.stringify(spec.body);
        headers["content-type"] = spec.contentType ?? "application/json";
        headers["content-length"] = String(
          new TextEncoder().encode(payload).length,
        );
      }
      const req = request(url, {
        method: spec.method ?? "GET",
        agent: this.#agent,
        headers,
      }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON: the text is the body.
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Opens a watch (`path` with its query) and collects its events. */
  watch(path: string): Promise<WatchStream> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, this.plane.url);
      const stream = new WatchStream();
      const req = request(url, {
        agent: false,
        ca: this.plane.caPem,
        headers: {
          authorization: `Bearer ${this.plane.token}`,
          accept: "application/json",
          "user-agent": USER_AGENT,
        },
      }, (res) => {
        stream.status = res.statusCode ?? 0;
        let buffered = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let at = buffered.indexOf("\n");
          while (at >= 0) {
            const line = buffered.slice(0, at).trim();
            buffered = buffered.slice(at + 1);
            if (line !== "") stream.push(JSON.parse(line));
            at = buffered.indexOf("\n");
          }
        });
        res.on("end", () => stream.end());
        res.on("error", () => stream.end());
        res.on("close", () => stream.end());
        resolve(stream);
      });
      stream.cancel = () => req.destroy();
      req.on("error", (error) => {
        if (stream.status === 0) reject(error);
        stream.end();
      });
      req.end();
    });
  }

  /** Closes idle connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** The events of one watch, awaited with a deadline. */
export class WatchStream {
  status = 0;
  readonly events: WatchEvent[] = [];
  ended = false;
  cancel: () => void = () => {};
  #waiters: (() => void)[] = [];

  /** Records an event. */
  push(event: WatchEvent): void {
    this.events.push(event);
    this.#wake();
  }

  /** Records the end of the stream. */
  end(): void {
    this.ended = true;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `predicate` holds over the events, or rejects after `ms`. */
  async until(
    predicate: (events: WatchEvent[]) => boolean,
    what: string,
    ms = 20_000,
  ): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.ended) {
        throw new Error(
          `Expected ${what}; the watch ${
            this.ended ? "ended" : "timed out"
          } after ${JSON.stringify(this.events.map((e) => e.type))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops the watch. */
  stop(): void {
    this.cancel();
  }
}
