// Messages and shared control words of the cross-thread queue benchmark (bench/micro/core-vs-js.ts, the producer,
// and queue-consumer.ts). The control words live in the core's scratch area, each on its own cache line.

export type ConsumerJob = { kind: "consume"; variant: "wasm" | "ts"; queue: number } | { kind: "exit" };
/** count -1: the worker has attached and is listening. */
export interface ConsumerReport { count: number; sum: number }

/** Empty pops a consumer spins through before it parks. */
export const CONSUMER_SPIN = 2000;
/** The producer bumps SEQ (and wakes parked consumers) once per this many pushes. */
export const PRODUCER_BATCH = 256;

/** i32 indices of the control words at byte address `control` (64 bytes apart). */
export function controlWords(control: number) {
  const at = (line: number) => (control >> 2) + line * 16;
  return { DONE: at(0), SEQ: at(1), IDLE: at(2), STARTED: at(3), FINISHED: at(4) };
}
