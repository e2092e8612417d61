// A task whose top-level argument was lost after it was admitted waits here for the rebuild; meanwhile the driver
// lends the resources the task was admitted with to others (the rebuild may need them), and the task's function
// starts only once it holds them again. See TaskDispatcher.lend.
import type { TaskId } from "../ids.js";
import type { DriverLink } from "../transport/driver-link.js";

export class ResourceLoan {
  /** Tasks whose arguments are back, until the driver's "resume". */
  private readonly resuming = new Map<TaskId, () => void>();

  constructor(private readonly link: DriverLink) {}

  lend(taskId: TaskId, run: number): void {
    this.link.post({ t: "args-lost", taskId, run });
  }

  /** Resolves once the task holds its resources again. */
  takeBack(taskId: TaskId, run: number): Promise<void> {
    return new Promise((resolve) => {
      this.resuming.set(taskId, resolve);
      this.link.post({ t: "args-back", taskId, run });
    });
  }

  onResume(taskId: TaskId): void {
    const resolve = this.resuming.get(taskId);
    this.resuming.delete(taskId);
    resolve?.();
  }
}
