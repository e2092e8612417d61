// Column names of a normalized flight batch (schema.ts builds them), in a module of their own so that readers of
// partials and answers (the driver) do not load apache-arrow for them.
export const COL = {
  hour: "hour", // scheduled departure hour of day, 0..23
  delay: "delay", // arrival delay in minutes (negative: early)
  distance: "distance", // miles
  origin: "origin", // airport code, dictionary-encoded
  destination: "destination",
} as const;
