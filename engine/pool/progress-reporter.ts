// Counts finished items of one map/imap call and reports them: to the caller's
// onProgress, and as a cli-progress bar when asked and stdout is a terminal.
// It does not know about tasks or chunks; the caller reports items.

import cliProgress from "cli-progress";

/** Called after each finished chunk; `total` is undefined while a lazy input is still being read. */
export type ProgressCallback = (done: number, total: number | undefined) => void;

/** The progress options of `map`, `imap`, `imapUnordered` and `starmap`. */
export interface ProgressOptions {
  /** Called with the number of finished items and the total (when known). */
  onProgress?: ProgressCallback;
  /** Draw a terminal progress bar (cli-progress) when stdout is a TTY. */
  progress?: boolean;
}

/** The part of a cli-progress bar the reporter drives (a fake in tests). */
export interface ProgressBar {
  start(total: number, startValue: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  stop(): void;
}

/** Makes the bar; replaced in tests. Returns undefined when no bar should be drawn. */
export type ProgressBarFactory = () => ProgressBar | undefined;

/** The default: a cli-progress bar on stdout, only when stdout is a TTY. */
export const terminalBar: ProgressBarFactory = () => {
  if (!process.stdout.isTTY) return undefined;
  return new cliProgress.SingleBar(
    {
      stream: process.stdout,
      format: "{bar} {percentage}% | {value}/{total} items | {duration_formatted} elapsed | ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
};

export class ProgressReporter {
  /** Items finished so far; only grows. */
  private done = 0;
  /** The number of items, once known (an array's length, or when a lazy input ends). */
  private total: number | undefined;
  /** The bar, from start until stop; undefined when none is drawn. */
  private bar: ProgressBar | undefined;
  private stopped = false;

  constructor(
    private readonly options: ProgressOptions,
    total: number | undefined,
    makeBar: ProgressBarFactory = terminalBar,
  ) {
    this.total = total;
    if (options.progress === true) {
      this.bar = makeBar();
      this.bar?.start(total ?? 0, 0);
    }
  }

  /** True when nobody listens, so callers may skip the bookkeeping. */
  get silent(): boolean {
    return this.options.onProgress === undefined && this.bar === undefined;
  }

  /** Records `n` more finished items. */
  advance(n: number): void {
    if (this.stopped || n === 0) return;
    this.done += n;
    this.bar?.update(this.done);
    this.options.onProgress?.(this.done, this.total);
  }

  /** While the total is unknown, the bar's end is the number of items submitted so far. */
  submitted(count: number): void {
    if (this.stopped || this.total !== undefined) return;
    this.bar?.setTotal(count);
  }

  /** Sets the total when a lazy input runs out. */
  setTotal(total: number): void {
    if (this.stopped || this.total === total) return;
    this.total = total;
    this.bar?.setTotal(total);
  }

  /** Stops the bar (on success, error or early exit); later calls do nothing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar?.stop();
    this.bar = undefined;
  }
}
