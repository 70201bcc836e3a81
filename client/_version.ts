/** Internal: the package version (kept equal to deno.json's by a test). @module */

/** The version this module was released as. */
export const VERSION = "0.1.0";
