import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TestApiServer } from "../../testing/mod.ts";
import {
  Controller,
  type Logger,
  Operator,
  ReconcileResult,
} from "../../mod.ts";
import {
  clusterEnv,
  eventually,
  freePorts,
  recordingLogger,
} from "./_helpers.ts";
import { configMaps } from "../../testing/resource_types.ts";

/** A logger that records every line; `info` of `throwOn` throws. */

describe("the operator's stop leaves a log line for every failure", () => {
  let server: TestApiServer;
  before(async () => {
    server = await TestApiServer.start();
  });
  after(async () => {
    await server.stop();
  });

  async function start(logger: Logger) {
    const [env] = clusterEnv(await freePorts(1));
    return await Operator.fromEnv({
      env,
      kubeConfig: server.kubeConfig(),
      hostname: "127.0.0.1",
      signals: false,
      logger,
    })
      .controller(configMaps, {
        reconcile: () => Promise.resolve(ReconcileResult.done()),
      })
      .start();
  }

  it("a failed leadership handover is logged, and the stop goes on", async () => {
    const { logger, lines } = recordingLogger();
    const running = await start(logger);
    const broken = new Error("handover broke");
    running.node.transferLeadership = () => Promise.reject(broken);
    await running.stop();
    const line = lines.find((l) => l.message === "leadership handover failed");
    assert.ok(
      line,
      `expected a handover failure line in ${JSON.stringify(lines)}`,
    );
    assert.equal(line.level, "warn");
    assert.equal(line.fields?.error, broken);
    assert.ok(
      lines.some((l) => l.message === "operator stopped"),
      "the stop went on after the failed handover",
    );
  });

  it("a stop that fails after a controller failed is logged", async () => {
    const { logger, lines } = recordingLogger("operator stopped");
    const run = Controller.prototype.run;
    Controller.prototype.run = () =>
      Promise.reject(new Error("the controller broke"));
    let running;
    try {
      running = await start(logger);
    } finally {
      Controller.prototype.run = run;
    }
    await assert.rejects(running.finished, /the log sink is closed/);
    const line = await eventually(
      "a shutdown failure line",
      () => lines.find((l) => l.message === "shutdown failed"),
    );
    assert.equal(line.level, "error");
    assert.match(String(line.fields?.error), /the log sink is closed/);
    assert.ok(
      lines.some((l) => l.message === "a controller failed, stopping"),
    );
  });
});
