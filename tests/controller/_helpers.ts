/** Shared test helpers for the controller tests. */
import { KubeConfig } from "@kubernetes/client-node";
import {
  type FromKubeConfigOptions,
  KubeClient,
} from "../../client/kube_client.ts";
import { ManualClock } from "../../common/clock.ts";

/** A seeded PRNG (mulberry32) returning numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves when `predicate` holds (polled every few ms); rejects after `timeoutMs` of real time. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; message?: string; everyMs?: number } = {},
): Promise<void> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  while (!(await predicate())) {
    if (performance.now() > deadline) {
      throw new Error(
        `Timed out waiting for: ${options.message ?? "condition"}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 2));
  }
}

/** Lets pending promise callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** One request seen by a {@linkcode recordingClient}. */
export interface SeenRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** A KubeClient over a scripted transport that records every request. */
export function recordingClient(
  respond: (request: SeenRequest) => { status: number; body: unknown },
): { client: KubeClient; requests: SeenRequest[] } {
  const requests: SeenRequest[] = [];
  const client = new KubeClient({
    server: "http://fake.invalid",
    transport: (method, url, init) => {
      const parsed = new URL(url);
      const request: SeenRequest = {
        method,
        path: parsed.pathname,
        contentType: init.headers["content-type"],
        body: init.body === undefined ? undefined : JSON.parse(init.body),
      };
      requests.push(request);
      const { status, body } = respond(request);
      return Promise.resolve(
        new Response(JSON.stringify(body), {
          status,
          headers: { "content-type": "application/json" },
        }),
      );
    },
  });
  return { client, requests };
}

/**
 * `KubeClient.fromKubeConfig` for `url` with a bearer token, trusting
 * `options.caPem`, on a manual clock (credentials are read once).
 */
export function tokenClient(
  url: string,
  options: FromKubeConfigOptions & { caPem: string },
): KubeClient {
  const { caPem, ...rest } = options;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server: url, caData: btoa(caPem) }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "ctx", cluster: "c", user: "u" }],
    currentContext: "ctx",
  });
  return KubeClient.fromKubeConfig(kubeConfig, {
    clock: new ManualClock(),
    ...rest,
  });
}

/**
 * How `work` settled, or `"still waiting"` after 10 s. The deadline only
 * bounds the wait for an answer that comes at once when the code is right.
 */
export async function settles(
  work: Promise<unknown>,
): Promise<{ error: unknown } | "resolved" | "still waiting"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"still waiting">((resolve) => {
    timer = setTimeout(() => resolve("still waiting"), 10_000);
  });
  try {
    return await Promise.race([
      work.then(() => "resolved" as const, (error) => ({ error })),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
