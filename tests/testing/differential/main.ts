/**
 * `deno task differential`: runs the differential scenarios on the
 * in-process `TestApiServer` and a real kube-apiserver 1.32 at once and
 * prints the figures (scenarios, observations compared, how many differ, differences
 * listed and unlisted) and every difference.
 *
 * Options: `--only name,name` runs those scenarios; `--json FILE` writes
 * every observation of both planes.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import process from "node:process";
import { SCENARIOS } from "./scenarios/mod.ts";
import { report, runScenarios, startPlanes } from "./suite.ts";

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const assets = process.env.KUBEBUILDER_ASSETS;
if (!assets) {
  console.error(
    "differential: no Kubernetes binaries: KUBEBUILDER_ASSETS is not set " +
      "(deno task differential sets it from ../shared/k8s)",
  );
  process.exit(2);
}
const only = option("--only")?.split(",");
const scenarios = only
  ? SCENARIOS.filter((s) => only.includes(s.name))
  : SCENARIOS;
const started = performance.now();
const planes = await startPlanes(assets);
try {
  const results = await runScenarios(planes, scenarios);
  const json = option("--json");
  if (json) {
    writeFileSync(json, JSON.stringify(results, null, 2));
  }
  console.log(report(results));
  console.log(
    `\n(${
      ((performance.now() - started) / 1000).toFixed(1)
    } s with both planes' start)`,
  );
  const bad = results.some((r) => r.unlisted.length > 0 || r.stale.length > 0);
  process.exitCode = bad ? 1 : 0;
} finally {
  await planes.stop();
}
