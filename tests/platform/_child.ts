/**
 * A child process for the platform tests: prints its arguments and an
 * environment variable as JSON, then waits for SIGTERM and exits with the
 * code given as the first argument.
 *
 * @module
 */
import { args, exit, getEnv, onSignal, runtime } from "../../platform/mod.ts";

const argv = args();
const keepAlive = setInterval(() => {}, 60_000);
onSignal("SIGTERM", () => {
  clearInterval(keepAlive);
  console.log("got SIGTERM");
  exit(Number(argv[0]));
});
console.log(
  JSON.stringify({ runtime, args: argv, env: getEnv("PLATFORM_TEST_VAR") }),
);
