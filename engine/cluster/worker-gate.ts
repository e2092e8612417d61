// When a node lets a task of another process into its runtime. A task goes in only when a worker (and the
// resources it asks for) is free for it; until then it waits here, unsubmitted, and the node tells its
// submitter `task-queued`, then `task-started` as it lets it in. So when the node dies, its submitter knows
// which of its tasks never ran there: those are placed again without counting a retry (SPEC: only tasks
// running on a lost node count against maxRetries), as Ray asks again for a worker whose lease was never granted.
import { LoomError } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import type { RunTask } from "./messages.js";
import type { Connection } from "./wire.js";

/** A task given back to its submitter unstarted: the reply says SPILLBACK, and the submitter places it again. */
export class HandedBack extends LoomError {}

/** How often a node with tasks waiting for a worker looks for an idle one (see letIn). */
const LOOK_MS = 5;

interface Waiting { go: () => void; stop: (e: Error) => void; c: Connection; msg: RunTask }

export class WorkerGate {
  /** Tasks of other processes in the local runtime and not yet answered. */
  private inside = 0;
  private readonly queue: Waiting[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly workers: number,
    /** Why no waiting task may go in any more (the node drains), or undefined. */
    private readonly refusing: () => string | undefined,
  ) {}

  /** Tasks waiting for a worker. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Undefined when `msg` may go in now; else a promise that resolves when it may, or rejects (HandedBack). Once
   * let in, the task counts as inside until the caller says it left.
   */
  admit(msg: RunTask, c: Connection): Promise<void> | undefined {
    if (this.queue.length === 0 && this.runtime.resourcesFree(msg.options.resources) && this.hasWorker()) {
      this.inside++;
      return undefined;
    }
    c.send({ t: "task-queued", taskId: msg.taskId, attempt: msg.attempt ?? 0 });
    const admitted = new Promise<void>((go, stop) => { this.queue.push({ go, stop, c, msg }); });
    this.watch();
    return admitted;
  }

  /** A task that went in was answered (or failed to go in): the next waiting one may go in. */
  left(): void {
    this.inside--;
    this.letIn();
  }

  /** A worker is free while fewer tasks are inside than workers, or while one idles (its task parked in get). */
  private hasWorker(): boolean {
    return this.inside < this.workers || this.runtime.idleWorkers() > 0;
  }

  /**
   * Lets waiting tasks in while a worker is free for them, oldest first (one whose resources are taken does not
   * hold up one whose are free). An idle worker lets one in per look: a task this node's own tasks submitted may
   * take it first. One whose submitter's connection closed is dropped (nobody would hear of it); while the node
   * drains, every one is handed back.
   */
  letIn(): void {
    let idleTaken = false;
    const refusing = this.refusing();
    for (let i = 0; i < this.queue.length; i++) {
      const next = this.queue[i]!;
      if (next.c.closed || refusing) {
        this.queue.splice(i--, 1);
        next.stop(new HandedBack(`${refusing ?? "its submitter's connection closed"}: task ${next.msg.name} handed back unstarted`));
        continue;
      }
      if (!this.runtime.resourcesFree(next.msg.options.resources)) continue;
      const room = this.inside < this.workers;
      if (!room && (idleTaken || this.runtime.idleWorkers() === 0)) break;
      if (!room) idleTaken = true;
      this.queue.splice(i--, 1);
      // Sent before it goes in (the same turn): its submitter counts it as started from here on.
      next.c.send({ t: "task-started", taskId: next.msg.taskId, attempt: next.msg.attempt ?? 0 });
      this.inside++;
      next.go();
    }
    this.watch();
  }

  /** Takes a waiting task of `owner` out of the queue, its reply an error (true), or finds none waiting. */
  cancel(owner: string, taskId: number): boolean {
    const i = this.queue.findIndex((w) => w.msg.owner === owner && w.msg.taskId === taskId);
    if (i < 0) return false;
    const [w] = this.queue.splice(i, 1);
    w!.stop(new LoomError(`task ${w!.msg.name} was cancelled while it waited for a worker`));
    this.watch();
    return true;
  }

  /** The service closes: every waiting task is handed back. */
  close(why: string): void {
    for (const w of this.queue.splice(0)) w.stop(new HandedBack(`${why}: task ${w.msg.name} handed back unstarted`));
    this.watch();
  }

  /** While tasks wait, looks every few ms for a worker gone idle (a running task parked in get frees one). */
  private watch(): void {
    if (this.queue.length === 0) { clearTimeout(this.timer); this.timer = undefined; return; }
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.letIn(); }, LOOK_MS);
    this.timer.unref?.();
  }
}
