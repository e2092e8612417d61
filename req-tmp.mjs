import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
console.log("require_module", process.features.require_module);
const req = createRequire(import.meta.url);
const path = fileURLToPath(import.meta.resolve("apache-arrow"));
console.log(path);
const order = process.argv[2];
let esm, cjs;
if (order === "esm-first") { esm = await import("apache-arrow"); cjs = req(path); }
else { const t = performance.now(); cjs = req(path); console.log("req ms", performance.now() - t); esm = await import("apache-arrow"); }
console.log("same Table", esm.Table === cjs.Table, "same ns", esm === cjs);
