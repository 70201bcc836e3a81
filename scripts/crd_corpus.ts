/**
 * `deno task crd:corpus`: the differential corpus of `tests/crd/corpus/`.
 * Prints its size and the differences of the library and of the test API
 * server against the real kube-apiserver's recorded verdicts, each marked
 * `listed` (a known difference with its reason, `tests/crd/corpus/known.ts`)
 * or `NEW`. Exits 1 when there is a new difference.
 *
 * - `--record`: runs the corpus against the real API server `KUBECONFIG`
 *   names (a throwaway one: about 90 CRDs are installed, then removed) and
 *   rewrites `tests/crd/corpus/recorded.json`.
 * - `--live`: runs it against that server and compares with the recording
 *   (a stale recording shows up as differences).
 * - `--envtest`: with `--record` or `--live`, the real API server is a
 *   fresh EnvTest started from `KUBEBUILDER_ASSETS` instead.
 * - `--verbose`: prints every difference, not only the new ones.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient } from "../controller/mod.ts";
import { EnvTest, TestApiServer } from "../testing/mod.ts";
import { args, exit } from "../platform/mod.ts";
import {
  compare,
  corpusSize,
  type Difference,
  readRecording,
  RECORDED,
  type Recording,
  removeCorpus,
  runLibrary,
  runServer,
} from "../tests/crd/_corpus.ts";
import { isListed } from "../tests/crd/corpus/known.ts";

/**
 * The real API server: the one `KUBECONFIG` names, or with `--envtest` a
 * fresh EnvTest from `KUBEBUILDER_ASSETS`, stopped by `stop()`.
 */
async function realServer(
  envtest: boolean,
): Promise<{ client: KubeClient; stop: () => Promise<void> }> {
  if (!envtest) {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const client = KubeClient.fromKubeConfig(kubeConfig);
    // The user's cluster: the corpus's CRDs (and objects) go again.
    return { client, stop: () => removeCorpus(client) };
  }
  // No controller manager: the corpus needs admission, not garbage
  // collection, and the control plane is thrown away after.
  const plane = await EnvTest.start({ kubeControllerManager: false });
  console.log(`started a real control plane (EnvTest) at ${plane.url}`);
  return {
    client: KubeClient.fromKubeConfig(plane.kubeConfig()),
    stop: () => plane.stop(),
  };
}

async function serverVersion(client: KubeClient): Promise<string> {
  const version = await client.request<{ gitVersion: string }>(
    "GET",
    "/version",
  );
  return version.gitVersion;
}

function show(
  title: string,
  differences: Difference[],
  against: "library" | "testServer" | "live",
  verbose: boolean,
): number {
  const fresh = differences.filter((d) => !isListed(against, d));
  console.log(
    `${title}: ${differences.length} differences (${
      differences.length - fresh.length
    } listed, ${fresh.length} new)`,
  );
  for (const d of verbose ? differences : fresh) {
    const where = d.object === undefined
      ? d.definition
      : `${d.definition} / ${d.object}`;
    console.log(
      `  ${
        isListed(against, d) ? "listed" : "NEW   "
      } ${d.what} ${where}: expected ${d.expected}; found ${d.found}`,
    );
  }
  return fresh.length;
}

const argv = args();
const verbose = argv.includes("--verbose");
const envtest = argv.includes("--envtest");
if (argv.includes("--record")) {
  const { client, stop } = await realServer(envtest);
  try {
    const recording: Recording = {
      version: 1,
      server: await serverVersion(client),
      definitions: await runServer(client),
    };
    writeFileSync(RECORDED, JSON.stringify(recording, null, 1) + "\n");
    console.log(`recorded ${RECORDED.pathname} from ${recording.server}`);
  } finally {
    await stop();
  }
  exit(0);
}

const recording = readRecording();
const size = corpusSize();
console.log(
  `corpus: ${size.definitions} definitions, ${size.objects} objects; real verdicts recorded from kube-apiserver ${recording.server}`,
);
let fresh = 0;
if (argv.includes("--live")) {
  const { client, stop } = await realServer(envtest);
  try {
    const live = await runServer(client);
    fresh += show(
      `live ${await serverVersion(client)} vs recorded`,
      compare(live, recording.definitions),
      "live",
      verbose,
    );
  } finally {
    await stop();
  }
}
fresh += show(
  "library vs real",
  compare(runLibrary(), recording.definitions),
  "library",
  verbose,
);
const server = await TestApiServer.start();
try {
  const run = await runServer(KubeClient.fromKubeConfig(server.kubeConfig()));
  fresh += show(
    "test server vs real",
    compare(run, recording.definitions),
    "testServer",
    verbose,
  );
} finally {
  await server.stop();
}
exit(fresh === 0 ? 0 : 1);
