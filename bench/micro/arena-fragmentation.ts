// Fragmentation of the core's arena allocator (power-of-two classes, one free list per class, no coalescing),
// driven straight through the WebAssembly exports with the payload sizes the store sends it (values without big
// buffers, up to ARENA_OBJECT_LIMIT). Two workloads:
//  - steady churn: a live set of objects whose sizes are log-uniform over 16 B .. 256 KiB; each step frees one at
//    random and allocates a new one. Internal fragmentation is the rounding to a class; external is memory parked
//    in free lists that the live set does not use.
//  - phase shift: fill with small objects, free them all, then allocate big ones. Blocks never change class, so
//    the small objects' memory cannot serve the big ones; the store then falls back to segments (no failure).
// Usage: node --import tsx/esm bench/micro/arena-fragmentation.ts
import { Core } from "../../engine/wasm/core.js";
import { ARENA_OBJECT_LIMIT } from "../../engine/object-store/object-store.js";
import { mulberry32 } from "../lib/prng.js";

const ARENA_BYTES = 256 * 2 ** 20;
const MiB = 2 ** 20;

function makeCore(): { core: Core; arenaBytes: number } {
  const { core } = Core.create({ taskSlots: 1024, objectCapacity: 1 << 16, arenaBytes: ARENA_BYTES });
  return { core, arenaBytes: core.plan.arenaEnd - core.plan.arenaStart };
}

function steadyChurn(liveTarget: number, steps: number): Record<string, number> {
  const { core, arenaBytes } = makeCore();
  const ex = core.exports;
  const random = mulberry32(42);
  const size = () => Math.round(Math.exp(Math.log(16) + random() * (Math.log(ARENA_OBJECT_LIMIT) - Math.log(16))));
  const live: { at: number; bytes: number }[] = [];
  let payload = 0;
  let failed = 0;
  const alloc = () => {
    const bytes = size();
    const at = ex.arenaAlloc(bytes);
    if (at === 0) { failed++; return; }
    live.push({ at, bytes });
    payload += bytes;
  };
  while (live.length < liveTarget) alloc();
  let worstExternal = 0;
  for (let s = 0; s < steps; s++) {
    const i = Math.floor(random() * live.length);
    const victim = live[i]!;
    live[i] = live[live.length - 1]!;
    live.pop();
    ex.arenaFree(victim.at);
    payload -= victim.bytes;
    alloc();
    const consumed = arenaBytes - ex.arenaFresh();
    worstExternal = Math.max(worstExternal, (consumed - ex.arenaUsed()) / consumed);
  }
  const used = ex.arenaUsed();
  const consumed = arenaBytes - ex.arenaFresh();
  return {
    liveObjects: live.length,
    livePayloadMiB: payload / MiB,
    blocksMiB: used / MiB,
    consumedMiB: consumed / MiB,
    internal: 1 - payload / used,
    external: (consumed - used) / consumed,
    worstExternal,
    overall: consumed / payload,
    failed,
  };
}

function phaseShift(smallBytes: number, bigBytes: number): Record<string, number> {
  const bigFits = (fresh: boolean): number => {
    const { core } = makeCore();
    const ex = core.exports;
    if (!fresh) {
      const small: number[] = [];
      for (let at = ex.arenaAlloc(smallBytes); at !== 0; at = ex.arenaAlloc(smallBytes)) small.push(at);
      for (const at of small) ex.arenaFree(at);
    }
    let n = 0;
    while (ex.arenaAlloc(bigBytes) !== 0) n++;
    return n;
  };
  const fresh = bigFits(true);
  const afterSmall = bigFits(false);
  return { smallBytes, bigBytes, bigObjectsFreshArena: fresh, bigObjectsAfterSmallFreed: afterSmall };
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
console.log(`arena ${ARENA_BYTES / MiB} MiB, sizes log-uniform 16 B .. ${ARENA_OBJECT_LIMIT / 1024} KiB`);
for (const live of [1_000, 4_000]) {
  const r = steadyChurn(live, 200_000);
  console.log(`steady churn, ${live} live, 200k free+alloc steps: ` + Object.entries(r).map(([k, v]) => `${k}=${fmt(v)}`).join(" "));
}
const shift = phaseShift(256, 64 * 1024);
console.log("phase shift (fill with 256 B objects, free all, then 64 KiB ones): " + Object.entries(shift).map(([k, v]) => `${k}=${fmt(v)}`).join(" "));
