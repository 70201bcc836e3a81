/**
 * The example operator's whole main: run it in every pod of the StatefulSet
 * (`deploy/`), or locally with `RAFT_NODE_ID`/`RAFT_PEERS` as
 * `deno task demo` does. Logs are JSON lines on stdout (errors on stderr).
 *
 * @module
 */
import { Operator } from "../mod.ts";
import { Website } from "./resources.ts";
import { websiteReconciler } from "./website.ts";

await Operator.fromEnv().controller(Website, websiteReconciler).run();
