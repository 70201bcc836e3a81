/** A KubeClient over a scripted transport: each request is answered by the test. */
import { KubeClient } from "../../client/kube_client.ts";

/** A request waiting for an answer. */
export interface PendingRequest {
  method: string;
  url: URL;
  signal: AbortSignal | undefined;
  /** Answers with a JSON body. */
  json(status: number, body: unknown): void;
  /** Answers 200 with a stream the test writes lines to. */
  stream(): WatchStream;
}

/** The server side of a watch response. */
export interface WatchStream {
  /** Sends one watch event line (or any raw text). */
  send(line: unknown): void;
  /** Ends the response. */
  close(): void;
  /** Whether the client went away (aborted). */
  readonly aborted: boolean;
}

/** A scripted client and the queue of its unanswered requests. */
export function scriptedClient(): {
  client: KubeClient;
  next(): Promise<PendingRequest>;
  requests: PendingRequest[];
} {
  const waiting: PendingRequest[] = [];
  const takers: Array<(r: PendingRequest) => void> = [];
  const requests: PendingRequest[] = [];
  const client = new KubeClient({
    server: "http://fake.invalid",
    transport: (method, url, init) =>
      new Promise<Response>((resolve, reject) => {
        init.signal?.addEventListener(
          "abort",
          () => reject(init.signal!.reason),
          { once: true },
        );
        const encoder = new TextEncoder();
        const request: PendingRequest = {
          method,
          url: new URL(url),
          signal: init.signal,
          json(status, body) {
            resolve(
              new Response(JSON.stringify(body), {
                status,
                headers: { "content-type": "application/json" },
              }),
            );
          },
          stream() {
            let controller!: ReadableStreamDefaultController<Uint8Array>;
            let aborted = false;
            const body = new ReadableStream<Uint8Array>({
              start: (c) => {
                controller = c;
              },
              cancel: () => {
                aborted = true;
              },
            });
            init.signal?.addEventListener("abort", () => {
              aborted = true;
              try {
                controller.error(init.signal!.reason);
              } catch {
                // already closed
              }
            }, { once: true });
            resolve(new Response(body, { status: 200 }));
            return {
              send(line) {
                const text = typeof line === "string"
                  ? line
                  : JSON.stringify(line);
                controller.enqueue(encoder.encode(text + "\n"));
              },
              close() {
                controller.close();
              },
              get aborted() {
                return aborted;
              },
            };
          },
        };
        requests.push(request);
        const taker = takers.shift();
        if (taker) taker(request);
        else waiting.push(request);
      }),
  });
  return {
    client,
    requests,
    next() {
      const request = waiting.shift();
      if (request) return Promise.resolve(request);
      return new Promise((resolve) => takers.push(resolve));
    },
  };
}
