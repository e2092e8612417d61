import { init } from "../index.js";
const rt = await init({ workers: 2 });
const spin = rt.remote((ms: number) => { const end = Date.now() + ms; while (Date.now() < end); return ms; });
const t0 = Date.now();
const refs = [5000, 5000, 5000, 5000].map((ms) => spin.remote(ms));
refs.forEach((r, i) => rt.get(r).then(v => console.log(i, "ok", v, Date.now() - t0), e => console.log(i, "rej", e.name, Date.now() - t0)));
await new Promise((r) => setTimeout(r, 300));
for (const r of refs) { try { rt.cancel(r, { force: process.argv[2] === "force" }); console.log("cancelled"); } catch (e) { console.log("cancel threw", e); } }
await new Promise((r) => setTimeout(r, 2000));
console.log("shutting down");
await rt.shutdown();
console.log("done");
