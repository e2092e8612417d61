// A second task module, for run()'s per-call `filename`.
export default function negate(x: number): number {
  return -x;
}
