// Park and wake: the driver waits for the done queue without blocking its event loop, drains it, and wakes
// idle workers once per burst of submissions. Work in flight keeps the process alive.
import * as L from "../../core-wasm/shared/layout.js";
import { Core } from "../wasm/core.js";
import type { DriverContext } from "../runtime/driver-context.js";

const PARK_TIMEOUT_MS = 20;
const SAFETY_POLL_MS = 25;

/** What ParkWake reaches in the driver: its arrows in engine/README.md. */
export type ParkWakeDeps = Pick<DriverContext, "closed" | "core" | "dispatcher" | "i32" | "objects" | "tasks">;

export class ParkWake {
  /** A waitAsync on the done sequence is pending (or a safety poll is armed). */
  parked = false;
  private parkToken = 0;
  /** An interval that holds the event loop open while inFlight > 0 (see updateKeepAlive). */
  keepAlive: NodeJS.Timeout | undefined;
  /** Submitted tasks not yet finished, rebuilds under way, and pending get/wait calls. */
  inFlight = 0;

  constructor(private readonly d: ParkWakeDeps) {}

  /** Wakes idle workers once per burst of submissions (a notify costs microseconds; a loop submits thousands). */
  notifyWorkers(n: number): void {
    this.wakeCount += n;
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    queueMicrotask(this.wake);
  }

  private wakeCount = 0;
  wakeScheduled = false;

  readonly wake = (): void => {
    this.wakeScheduled = false;
    const n = this.wakeCount;
    this.wakeCount = 0;
    if (Atomics.load(this.d.i32, Core.ctl(L.CTL_IDLE_WORKERS)) > 0) Atomics.notify(this.d.i32, Core.ctl(L.CTL_READY_SEQ), n);
  };

  /** Waits for the done queue without blocking the event loop (the main thread must never block). */
  park(): void {
    if (this.parked || this.d.closed) return;
    // Idle: nothing can report. Stop waiting, so that a script that never calls shutdown() can exit.
    if (this.inFlight <= 0 && this.d.dispatcher.noSlotInUse && this.d.dispatcher.backlog.length === 0 &&
        this.d.core.exports.queueLength(this.d.core.plan.doneQueue) === 0) return;
    const parkedIdx = Core.ctl(L.CTL_DRIVER_PARKED);
    const seqIdx = Core.ctl(L.CTL_DONE_SEQ);
    Atomics.store(this.d.i32, parkedIdx, 1);
    const seq = Atomics.load(this.d.i32, seqIdx);
    // A report pushed before the sequence read is in the queue now; one pushed after changes the sequence.
    if (this.d.core.exports.queueLength(this.d.core.plan.doneQueue) > 0) {
      Atomics.store(this.d.i32, parkedIdx, 0);
      // One drain per turn, however many dispatches call park() meanwhile (each used to queue its own).
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        setImmediate(this.drainLater);
      }
      return;
    }
    this.parked = true;
    // The timeout bounds the cost of a missed wake-up (a notify racing the park) to a few milliseconds.
    const r = Atomics.waitAsync(this.d.i32, seqIdx, seq, PARK_TIMEOUT_MS);
    const resume = () => {
      this.parked = false;
      Atomics.store(this.d.i32, parkedIdx, 0);
      if (this.d.closed) return;
      this.drainDone();
      this.park();
    };
    if (r.async) {
      // A safety net: under load on Node 20 a waitAsync was seen to stay unresolved; poll while parked.
      const token = ++this.parkToken;
      r.value.then(() => { if (token === this.parkToken) { this.parkToken++; resume(); } });
      const poll = setTimeout(() => { if (token === this.parkToken) { this.parkToken++; resume(); } }, SAFETY_POLL_MS);
      poll.unref();
    } else {
      // Settled at once (the done sequence moved after it was read): resume on a microtask, never here. park()
      // is called from takeSlot, inside a dispatch that may be inside a backlog drain; draining the done queue
      // here would free slots and drain the backlog again inside the outer drain, whose bookkeeping it breaks
      // (seen once as a TypeError in drainBacklogNow under the throughput bench). The worker does the same.
      queueMicrotask(resume);
    }
  }

  private drainScheduled = false;

  private readonly drainLater = (): void => {
    this.drainScheduled = false;
    this.drainDone();
    this.park();
  };

  drainDone(): void {
    const ex = this.d.core.exports;
    this.drainingDone = true;
    try {
      for (let slot = ex.donePop(); slot >= 0; slot = ex.donePop()) this.d.tasks.onTaskDone(slot);
    } finally {
      this.drainingDone = false;
    }
    this.d.dispatcher.drainAdmissions();
    this.d.objects.flushDroppedSegments();
    if (this.parkAfterDrain) { this.parkAfterDrain = false; this.park(); }
  }

  /**
   * A slot was taken: its task will report, so someone must listen. While the done queue drains (each finished
   * task may start a waiting one) that is one park after the drain, not three atomics and a queue read per task.
   */
  listenForReports(): void {
    if (this.parked) return;
    if (this.drainingDone) { this.parkAfterDrain = true; return; }
    this.park();
  }

  private drainingDone = false;
  private parkAfterDrain = false;

  /** Keeps the process alive while work is outstanding; workers are unref'd so an idle driver can exit. */
  updateKeepAlive(): void {
    if (this.inFlight > 0 && !this.keepAlive && !this.d.closed) {
      this.keepAlive = setInterval(() => {}, 1 << 30);
      this.park();
    }
    else if (this.inFlight <= 0 && this.keepAlive) { clearInterval(this.keepAlive); this.keepAlive = undefined; }
  }

  /** Counts a pending get/wait in inFlight until `p` settles (the keep-alive holds the process meanwhile). */
  tracked<T>(p: Promise<T>): Promise<T> {
    this.inFlight++;
    this.updateKeepAlive();
    const done = () => { this.inFlight--; this.updateKeepAlive(); };
    p.then(done, done);
    return p;
  }
}
