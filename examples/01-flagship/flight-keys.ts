// How a flight row maps to the integer key of each aggregate, and how keys read back as labels.
// Shared by the tasks (rows -> keys) and the report (keys -> text).

/** Distance band edges, miles: band 0 is < 250, band i is [EDGES[i-1], EDGES[i]), the last is >= 3000. */
export const DISTANCE_BAND_EDGES = [250, 500, 750, 1000, 1500, 2000, 3000] as const;
export const DISTANCE_BANDS = DISTANCE_BAND_EDGES.length + 1;

export function distanceBand(miles: number): number {
  let band = 0;
  while (band < DISTANCE_BAND_EDGES.length && miles >= DISTANCE_BAND_EDGES[band]) band++;
  return band;
}

export function distanceBandLabel(band: number): string {
  if (band === 0) return `< ${DISTANCE_BAND_EDGES[0]} mi`;
  if (band >= DISTANCE_BAND_EDGES.length) return `>= ${DISTANCE_BAND_EDGES[DISTANCE_BAND_EDGES.length - 1]} mi`;
  return `${DISTANCE_BAND_EDGES[band - 1]}-${DISTANCE_BAND_EDGES[band]} mi`;
}

export function hourLabel(hour: number): string {
  return `${String(hour).padStart(2, "0")}:00`;
}

/** A route key packs origin and destination codes of one shared airport dictionary of `airports` entries. */
export function routeKey(origin: number, destination: number, airports: number): number {
  return origin * airports + destination;
}

export function routeLabel(key: number, names: ArrayLike<string>): string {
  const origin = Math.floor(key / names.length);
  return `${names[origin]} -> ${names[key - origin * names.length]}`;
}
