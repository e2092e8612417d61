// Where a terminated thread can stop, made visible to tests. V8 stops a terminated thread's WebAssembly only at
// function entries and loop heads, so the core marks those points in the code a worker runs while it holds
// shared state. The release build compiles the marks away (nothing is imported, nothing runs); the stop-points
// build (`--use LOOM_STOP_POINTS=1`, build/core-stops.wasm) calls the host at each, and a host that throws there
// leaves the shared memory exactly as a thread terminated at that point would.
@external("env", "stopPoint") declare function hostStopPoint(): void;

@inline export function stopPoint(): void {
  if (isDefined(LOOM_STOP_POINTS)) hostStopPoint();
}
