/**
 * The custom resources whose CustomResourceDefinitions `deno task crd`
 * writes into this folder (one `<plural>.<group>.yaml` each). Export every
 * resource definition the operator serves; `deno task crd --check` (run by
 * the tests) fails when a written file is stale.
 *
 * @module
 */
export { Website } from "../../examples/resources.ts";
