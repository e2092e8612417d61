// A progress bar fed by rt.events task:finished, with a way to print above it and to await a count.
// Draws with cli-progress on a terminal; elsewhere (CI, pipes) it prints plain lines instead.
import cliProgress from "cli-progress";
import type { EventSource } from "./event-source.js";

export class TaskProgress {
  private finished = 0;
  private stopped = false;
  private total = 0;
  private multibar?: cliProgress.MultiBar;
  private bar?: cliProgress.SingleBar;
  /** Pending `reached` calls, resolved as the count passes them. */
  private waiters: { count: number; resolve: () => void }[] = [];
  private readonly onFinished = () => this.tick();

  constructor(
    private readonly events: EventSource,
    private readonly title: string,
    private readonly tty = process.stdout.isTTY === true,
  ) {}

  /** Start counting task:finished events towards `total` (re-executions may push past it). */
  start(total: number): void {
    this.total = total;
    this.events.on("task:finished", this.onFinished);
    if (this.tty) {
      this.multibar = new cliProgress.MultiBar(
        { format: `${this.title} {bar} {value}/{total} tasks | {duration_formatted}`, stream: process.stdout, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar = this.multibar.create(total, 0);
    } else {
      console.log(`${this.title}: ${total} tasks submitted`);
    }
  }

  /** Resolves once `count` tasks have finished since start. */
  reached(count: number): Promise<void> {
    if (this.finished >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Print a line above the bar (the bar is redrawn below it). */
  announce(text: string): void {
    if (this.multibar) this.multibar.log(`${text}\n`);
    else console.log(text);
  }

  /** Detach and draw the final state; later calls do nothing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.events.off("task:finished", this.onFinished);
    if (this.multibar) {
      this.bar?.update(this.finished);
      this.multibar.stop();
    } else {
      console.log(`${this.title}: ${this.finished} tasks finished`);
    }
  }

  private tick(): void {
    this.finished++;
    if (this.finished > this.total) {
      // A retried or rebuilt task finishes more than once: grow the bar instead of overflowing it.
      this.total = this.finished;
      this.bar?.setTotal(this.total);
    }
    this.bar?.update(this.finished);
    const due = this.waiters.filter((w) => w.count <= this.finished);
    this.waiters = this.waiters.filter((w) => w.count > this.finished);
    for (const w of due) w.resolve();
  }
}
