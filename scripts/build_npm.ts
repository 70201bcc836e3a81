/**
 * `deno task build:npm`: builds the npm package into `npm/` (see
 * `scripts/npm_package.ts` for what it does). Exits non-zero with the
 * reason when the build fails.
 *
 * @module
 */
import { buildNpm, NpmBuildError } from "./npm_package.ts";
import { exit } from "../platform/mod.ts";

try {
  await buildNpm();
} catch (error) {
  if (!(error instanceof NpmBuildError)) throw error;
  console.error(`npm build failed: ${error.message}`);
  exit(1);
}
