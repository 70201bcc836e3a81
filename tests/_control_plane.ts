/**
 * The control plane of the switchable suites: the in-process
 * `TestApiServer` or a real kube-apiserver (envtest), chosen by
 * `K8S_OPERATOR_TEST_CONTROL_PLANE` (`fake`, `envtest`, or `auto`: envtest
 * when `KUBEBUILDER_ASSETS` is set). A suite names the plane it ran on and
 * starts one plane per file.
 *
 * @module
 */
import {
  CONTROL_PLANE_ENV,
  type ControlPlaneSelection,
  selectTestControlPlane,
} from "../testing/mod.ts";

/** The plane this run's switchable suites use. */
export const plane: ControlPlaneSelection = selectTestControlPlane();

/**
 * The `skip` option of a switchable suite, saying (once, on stderr) why it
 * does not run here.
 *
 * @example
 * ```ts ignore
 * describe(`the e2e scenarios [${plane.kind}]`, { skip: skipUnlessRunnable("the e2e scenarios") }, () => {});
 * ```
 */
export function skipUnlessRunnable(suite: string): string | false {
  if (plane.skip) {
    console.warn(`Skipping ${suite} on ${plane.kind}: ${plane.skip}`);
  }
  return plane.skip;
}

/**
 * The `skip` option of a suite that needs a real control plane (the
 * launcher's own tests, the server-side dry run of deploy/): it runs where
 * the switch names envtest (`deno task test:envtest`, or `auto` with
 * `KUBEBUILDER_ASSETS` set) and says why not elsewhere.
 *
 * @example
 * ```ts ignore
 * describe("kubectl --dry-run=server", { skip: skipUnlessEnvTest("the server dry run") }, () => {});
 * ```
 */
export function skipUnlessEnvTest(suite: string): string | false {
  const binaries = selectTestControlPlane({ kind: "envtest" }).skip;
  const reason = plane.kind === "envtest" || binaries
    ? binaries
    : `it runs on the envtest control plane, and ${CONTROL_PLANE_ENV} ` +
      `selects ${plane.kind} (deno task test:envtest runs it)`;
  if (reason) console.warn(`Skipping ${suite}: ${reason}`);
  return reason;
}
