// Build-time guard: the core must never allocate, keep per-instance state or re-apply data segments,
// because every thread instantiates it over one shared memory (see core-wasm/README.md).
import { readFileSync } from "node:fs";
const file = process.argv[2] ?? "build/core.wat";
const wat = readFileSync(file, "utf8");
const rules = [
  [/~lib\/rt\//, "links the AssemblyScript runtime"],
  [/__new|__alloc/, "allocates on the managed heap"],
  [/\(data\b/, "has a data segment (re-copied on every instantiation)"],
  [/\(global \$[^\s]+ \(mut/, "has a mutable global (per instance, not shared)"],
  [/\(start\b/, "has a start function"],
];
const broken = rules.filter(([re]) => re.test(wat)).map(([, why]) => why);
if (broken.length) {
  console.error(`check-no-alloc: ${file} ${broken.join("; ")}`);
  process.exit(1);
}
console.log(`check-no-alloc: ${file} ok`);
