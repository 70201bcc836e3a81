/**
 * Imported first by every entry point for its effect: throws
 * `UnsupportedRuntimeError` at import on a Node or Deno older than the
 * package supports (see `runtime_version.ts`).
 *
 * @module
 */
import { checkRuntimeVersion } from "./runtime_version.ts";

checkRuntimeVersion();
