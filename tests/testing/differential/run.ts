/**
 * Runs scenarios on two control planes at once and compares what a client
 * saw on each: every recorded step's status code and normalised body (or
 * watch events), the fake plane against the real one.
 *
 * @module
 */
import {
  type PlaneAddress,
  RawClient,
  type Reply,
  type RequestSpec,
  type WatchEvent,
  type WatchStream,
} from "./client.ts";
import { type Difference, differences } from "./compare.ts";
import { Normaliser } from "./normalise.ts";

/** What a scenario does on one plane. */
export interface ScenarioContext {
  /** The scenario's own namespace (created before it runs). */
  readonly ns: string;
  /** The API group of the shared custom resource (`gadgets`). */
  readonly group: string;
  /** Sends a request and records its reply as the step `step`. */
  call(step: string, spec: RequestSpec): Promise<Reply>;
  /** Sends a request without recording it (setup). */
  send(spec: RequestSpec): Promise<Reply>;
  /**
   * Repeats a request until `done` holds for its reply (a real cluster's
   * controllers act asynchronously), then records the last reply.
   */
  eventually(
    step: string,
    spec: RequestSpec,
    done: (reply: Reply) => boolean,
    ms?: number,
  ): Promise<Reply>;
  /** Opens a watch (not recorded until `events`). */
  watch(path: string): Promise<WatchStream>;
  /**
   * Waits until the watch has seen what `done` wants (or a deadline),
   * stops it, and records its events as the step `step`.
   */
  events(
    step: string,
    stream: WatchStream,
    done: (events: WatchEvent[]) => boolean,
  ): Promise<WatchEvent[]>;
  /** Records a value derived from replies (a relation between them). */
  record(step: string, value: unknown): void;
}

/** One scenario: a name and what it does, the same on every plane. */
export interface Scenario {
  name: string;
  run(context: ScenarioContext): Promise<void>;
}

/** One recorded step of one scenario on one plane. */
export interface Observation {
  step: string;
  value: unknown;
}

/** How long a step may wait for a real cluster's controllers. */
const EVENTUALLY_MS = 60_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A failure `Status` as compared: its code, reason and details, the causes
 * by reason and field (messages are prose and may differ).
 */
function comparable(body: unknown): unknown {
  if (!isRecord(body) || body.kind !== "Status" || body.status !== "Failure") {
    return body;
  }
  const details = isRecord(body.details) ? { ...body.details } : undefined;
  if (details && Array.isArray(details.causes)) {
    // A real server lists a custom object's causes in Go map order: sorted, they compare.
    details.causes = details.causes.map((c) =>
      isRecord(c) ? { reason: c.reason, field: c.field } : c
    ).sort((a, b) => {
      const ka = JSON.stringify(a);
      const kb = JSON.stringify(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }
  return {
    kind: "Status",
    status: body.status,
    code: body.code,
    reason: body.reason,
    details,
  };
}

function replyValue(reply: Reply): unknown {
  return { status: reply.status, body: comparable(reply.body) };
}

class Recorder implements ScenarioContext {
  readonly ns: string;
  readonly group: string;
  readonly observations: Observation[] = [];
  #client: RawClient;
  #normaliser = new Normaliser();

  constructor(client: RawClient, fields: { ns: string; group: string }) {
    this.#client = client;
    this.ns = fields.ns;
    this.group = fields.group;
  }

  record(step: string, value: unknown): void {
    if (this.observations.some((o) => o.step === step)) {
      throw new Error(`Step "${step}" is recorded twice`);
    }
    this.observations.push({ step, value: this.#normaliser.normalise(value) });
  }

  send(spec: RequestSpec): Promise<Reply> {
    return this.#client.send(spec);
  }

  async call(step: string, spec: RequestSpec): Promise<Reply> {
    const reply = await this.#client.send(spec);
    this.record(step, replyValue(reply));
    return reply;
  }

  async eventually(
    step: string,
    spec: RequestSpec,
    done: (reply: Reply) => boolean,
    ms = EVENTUALLY_MS,
  ): Promise<Reply> {
    const deadline = Date.now() + ms;
    let reply = await this.#client.send(spec);
    while (!done(reply) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      reply = await this.#client.send(spec);
    }
    this.record(step, { ...replyValue(reply) as object, settled: done(reply) });
    return reply;
  }

  watch(path: string): Promise<WatchStream> {
    return this.#client.watch(path);
  }

  async events(
    step: string,
    stream: WatchStream,
    done: (events: WatchEvent[]) => boolean,
  ): Promise<WatchEvent[]> {
    let settled = true;
    try {
      await stream.until(done, `the events of step "${step}"`);
    } catch {
      settled = false;
    }
    stream.stop();
    const events = [...stream.events];
    this.record(step, { status: stream.status, events, settled });
    return events;
  }
}

/** One plane as the runner sees it. */
export interface Plane extends PlaneAddress {
  name: "fake" | "real";
}

/** What a scenario showed on both planes. */
export interface ScenarioResult {
  name: string;
  fake: Observation[];
  real: Observation[];
  /** Differences, each under its step. */
  differences: (Difference & { step: string })[];
  /** Steps compared (recorded on either plane). */
  steps: number;
}

/** Runs a scenario on one plane, returning what it recorded (and the error that ended it, as a step). */
async function runOn(
  scenario: Scenario,
  plane: Plane,
  fields: { ns: string; group: string },
): Promise<Observation[]> {
  const client = new RawClient(plane);
  const recorder = new Recorder(client, fields);
  try {
    const created = await client.send({
      method: "POST",
      path: "/api/v1/namespaces",
      body: { metadata: { name: fields.ns } },
    });
    if (created.status !== 201) {
      throw new Error(
        `Expected the namespace ${fields.ns} to be created, found ${created.status}: ${
          JSON.stringify(created.body)
        }`,
      );
    }
    await scenario.run(recorder);
  } catch (error) {
    recorder.observations.push({
      step: "scenario error",
      value: error instanceof Error ? error.message : String(error),
    });
  } finally {
    client.close();
  }
  return recorder.observations;
}

/** Runs one scenario on both planes at once and compares them step by step. */
export async function compareScenario(
  scenario: Scenario,
  planes: { fake: Plane; real: Plane; group: string },
): Promise<ScenarioResult> {
  const fields = { ns: `d-${scenario.name}`, group: planes.group };
  const [fake, real] = await Promise.all([
    runOn(scenario, planes.fake, fields),
    runOn(scenario, planes.real, fields),
  ]);
  const steps = [
    ...new Set([...fake.map((o) => o.step), ...real.map((o) => o.step)]),
  ];
  const found: (Difference & { step: string })[] = [];
  for (const step of steps) {
    const f = fake.find((o) => o.step === step);
    const r = real.find((o) => o.step === step);
    for (const d of differences(f?.value, r?.value)) {
      found.push({ ...d, step });
    }
  }
  return {
    name: scenario.name,
    fake,
    real,
    differences: found,
    steps: steps.length,
  };
}
