// The worker side: count random points of the unit square that fall inside the
// quarter circle. Self-contained (no imports, no closures), so it works as a
// piscina/Loom task module and as an inline function shipped by source.

export interface Job {
  samples: number;
  seed: number;
}

/** Points inside the circle among `samples` points from a seeded mulberry32 generator. */
export default function countInside({ samples, seed }: Job): number {
  let state = seed >>> 0;
  let inside = 0;
  for (let i = 0; i < samples; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const x = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    state = (state + 0x6d2b79f5) | 0;
    t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    const y = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    if (x * x + y * y <= 1) inside++;
  }
  return inside;
}

export { countInside };
