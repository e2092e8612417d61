// The one clock that task start and end times are kept in, on every thread: ms since 1970, read as the process's
// time origin plus the monotonic clock. Date.now() is not it: it is whole ms, and the wall clock it reads can be
// stepped or slewed apart from performance.now(), so a worker's Date.now() start and the driver's
// performance.now() end disagree by up to a few ms (a start came out after its own end). Worker threads share
// the process's timeOrigin, so this reading agrees across threads to the microsecond.

/** The process's time origin, read once: the getter costs ~12 ns a call, and every task start reads the clock. */
export const clockOrigin = performance.timeOrigin;

/** Now, in ms since 1970, on the clock every thread of this process shares. */
export function clockMs(): number {
  return clockOrigin + performance.now();
}
