/**
 * A test process that starts a real control plane, prints its process ids
 * and folder as one JSON line, and runs until a signal ends it. The
 * launcher's hooks must then leave nothing behind.
 *
 * @module
 */
import { EnvTest } from "../../testing/mod.ts";

const plane = await EnvTest.start();
setInterval(() => {}, 60_000);
console.log(
  JSON.stringify({ pids: Object.values(plane.pids), dir: plane.dir }),
);
