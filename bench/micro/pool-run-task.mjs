// The task of bench/micro/pool-run.ts: as trivial as a task gets, so the pool's own cost is what is timed.
export default (x) => x + 1;
