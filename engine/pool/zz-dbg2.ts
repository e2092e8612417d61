import { init } from "../index.js";
const rt = await init({ workers: 2 });
const t0 = Date.now();
const log = (...a: unknown[]) => console.log(Date.now() - t0, ...a);
const mode = process.argv[2] ?? "both";
if (mode !== "force-only") {
  const slow = rt.remote(async (x: number) => { await new Promise((r) => setTimeout(r, 30)); return x; });
  const refs = Array.from({ length: 200 }, (_, i) => slow.remote(i));
  log("first", await rt.get(refs[0]!));
  for (const r of refs.slice(3)) rt.cancel(r);
  log("cancelled 197");
}
if (mode !== "cancel-only") {
  const spin = rt.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; });
  const spins = [5000, 5000].map((ms) => spin.remote(ms));
  await new Promise((r) => setTimeout(r, 300));
  for (const r of spins) rt.cancel(r, { force: true });
  log("force-cancelled 2 running");
}
const sq = rt.remote((x: number) => x * x);
log("after:", await rt.get(sq.remote(3)));
await rt.shutdown();
log("done");
