/**
 * A child process for `serve_retention_deno_test.ts` (run with
 * `--expose-gc`): serves `Number(args[0])` requests, each answered by a
 * fresh Response carrying a 64 kB body, then collects garbage and prints
 * how many of those responses are still alive, as JSON
 * (`{ served, alive }`).
 *
 * @module
 */
import { serve } from "../../platform/platform.deno.ts";

const count = Number(Deno.args[0]);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Expected --expose-gc, found no gc()");
const body = "x".repeat(64 * 1024);
const answered: WeakRef<Response>[] = [];
const server = await serve(() => {
  const response = new Response(body);
  answered.push(new WeakRef(response));
  return response;
}, { port: 0, hostname: "127.0.0.1" });
for (let i = 0; i < count; i++) {
  const response = await fetch(`http://127.0.0.1:${server.port}/`);
  await response.text();
}
// A WeakRef's target stays alive until the current job ends: collect in
// later macrotasks, twice, so finished requests' last references are gone.
for (let round = 0; round < 3; round++) {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}
const alive = answered.filter((ref) => ref.deref() !== undefined).length;
console.log(JSON.stringify({ served: answered.length, alive }));
await server.shutdown();
