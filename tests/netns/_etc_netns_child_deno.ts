/**
 * One of several runs touching `/etc/netns` at once, for the cleanup
 * tests: for `ms` milliseconds it writes and removes a host's resolv.conf
 * over and over (`churn`, as a lab's create and destroy do), or sweeps
 * leftovers (`sweep`, as every lab's create does). Prints
 * `{"role","rounds"}` and exits 0, or exits 1 with the error.
 *
 * Usage: `_etc_netns_child_deno.ts churn|sweep <prefix> <ms>`
 *
 * @module
 */
import process from "node:process";
import {
  cleanLeftovers,
  removeResolvConf,
  writeResolvConf,
} from "./_lab_deno.ts";

const [role, prefix, ms] = Deno.args;
const until = performance.now() + Number(ms);
let rounds = 0;
while (performance.now() < until) {
  rounds++;
  if (role === "churn") {
    const ns = `${prefix}${process.pid}-${rounds.toString(16)}-a`;
    writeResolvConf(ns, "nameserver 10.0.0.1\n");
    removeResolvConf(ns);
  } else {
    cleanLeftovers(prefix);
  }
}
console.log(JSON.stringify({ role, rounds }));
