// Encode+decode of small values through the value codec: the per-task and per-put cost that trivial tasks pay.
// Each case is a full round trip (encodeValue, writeEncoded into a reused buffer, decodeValue from the arena
// path). Baselines in the same process: node's v8.serialize+deserialize, and with `--against <value-codec.ts>`
// another copy of the codec (an older commit's, extracted elsewhere), alternated round by round.
// Usage: node --import tsx/esm bench/micro/value-codec.ts [--against /path/engine/serialization/value-codec.ts]
//        [--rounds 7] [--ms 300] [--only <part of a case's name>]
import { serialize, deserialize } from "node:v8";
import os from "node:os";
import { performance } from "node:perf_hooks";
import * as current from "../../engine/serialization/value-codec.js";
import { ObjectRef } from "../../engine/refs.js";
import type { ObjectId } from "../../engine/ids.js";

type Codec = Pick<typeof current, "encodeValue" | "writeEncoded" | "decodeValue">;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const rounds = Number(arg("--rounds", "7"));
const msPerSample = Number(arg("--ms", "300"));
const againstPath = arg("--against", "");

const record = (i: number) => ({ id: i, name: "ada", tags: ["x", "y"], pos: { x: 1.5, y: -2 } });
const cases: Array<[string, () => unknown]> = [
  ["scalar 42", () => 42],
  ["flat args [1, \"a\", true]", () => [1, "a", true]],
  ["args [{a, b}, [1, 2, 3]]", () => [{ a: 1, b: "x" }, [1, 2, 3]]],
  ["record of 4 fields, 2 nested", () => record(7)],
  ["args [ref, 5] (a marker)", () => [new ObjectRef(12 as ObjectId), 5]],
  ["20 records", () => Array.from({ length: 20 }, (_, i) => record(i))],
  ["{ Date, Map } (v8 format)", () => ({ d: new Date(0), m: new Map([[1, "a"]]) })],
  // Not small: what identity tracking costs where every object is new (one Map entry per object).
  ["10,000 records", () => Array.from({ length: 10_000 }, (_, i) => record(i))],
];

const hooks: current.DecodeHooks = { ref: (id) => new ObjectRef(id), actor: (d) => d };
const scratch = new Uint8Array(1 << 20);

function roundTrip(codec: Codec, value: unknown): unknown {
  const e = codec.encodeValue(value, "value");
  codec.writeEncoded(e, scratch, 0);
  return codec.decodeValue(scratch, 0, hooks, false);
}

/** Round trips per second over about `ms` milliseconds, in batches of about a millisecond (the clock is not free). */
function rate(fn: () => unknown): number {
  let batch = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < batch; i++) fn();
    if (performance.now() - t >= 1) break;
    batch *= 2;
  }
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < msPerSample) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const fmt = (r: number) => r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : r >= 1e4 ? `${(r / 1e3).toFixed(0)}k` : r.toFixed(0);

async function main(): Promise<void> {
  const against: Codec | undefined = againstPath ? await import(againstPath) as Codec : undefined;
  console.log(`Node ${process.version} (V8 ${process.versions.v8}), ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; ` +
    `${rounds} rounds of ${msPerSample} ms per variant; round trips/s, median`);
  const header = ["case", "codec", ...(against ? ["--against", "codec/against"] : []), "v8 ser+deser", "codec/v8"];
  console.log(`| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
  const only = arg("--only", "");
  for (const [name, make] of cases) {
    if (only && !name.includes(only)) continue;
    const value = make();
    const variants: Array<[string, () => unknown]> = [["codec", () => roundTrip(current, value)]];
    if (against) variants.push(["against", () => roundTrip(against, value)]);
    variants.push(["v8", () => deserialize(serialize(value))]);
    const samples = new Map<string, number[]>(variants.map(([k]) => [k, []]));
    for (const [, fn] of variants) rate(fn); // warm up
    for (let r = 0; r < rounds; r++) {
      // Each round starts with another variant, so that neither gains from going first (GC debt, CPU boost).
      for (let j = 0; j < variants.length; j++) {
        const [k, fn] = variants[(r + j) % variants.length]!;
        samples.get(k)!.push(rate(fn));
      }
    }
    const m = (k: string) => median(samples.get(k)!);
    const cells = [name, fmt(m("codec"))];
    if (against) cells.push(fmt(m("against")), `${(m("codec") / m("against")).toFixed(2)}×`);
    cells.push(fmt(m("v8")), `${(m("codec") / m("v8")).toFixed(2)}×`);
    console.log(`| ${cells.join(" | ")} |`);
  }
}

await main();
