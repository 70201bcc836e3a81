/**
 * A run of the lab that never ends by itself, for the cleanup tests: makes
 * a lab with one host running `sleep`, prints `{"id","pids"}` and waits to
 * be signalled or killed.
 *
 * @module
 */
import { NetLab } from "./_lab_deno.ts";

// Not the default prefix: no other run may sweep what this one leaves.
const CHILD_PREFIX = "kopn-t-"; // cleaned by lab_deno_test.ts itself

const lab = await NetLab.create({ hosts: ["a"], prefix: CHILD_PREFIX });
const sleeper = lab.spawn("a", "sleep", ["600"]);
console.log(JSON.stringify({ id: lab.id, pids: [lab.dnsPid, sleeper.pid] }));
setInterval(() => {}, 60_000);
