// The context of the task or actor call running in this async flow: its id (children derive theirs from it),
// its submission counter and its abort signal. AsyncLocalStorage keeps it right across awaits.
import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskId } from "../ids.js";

export interface TaskContext {
  taskId: TaskId;
  /** Which run of the task this is (TASK_RUN): part of its children's ids. */
  run: number;
  /** Index of the next child (task, put or actor) this task submits. */
  nextChild: number;
  /** Made on the first read of current().signal or by a cancel: most tasks never look, so none is made per task. */
  controller?: AbortController;
  functionName: string;
  /** Holds this thread's CPU slot now (plain tasks only; given up while it waits in get/wait). */
  cpu?: boolean;
  /** Cancelled by the driver: it never takes the CPU slot again, whatever its code does. */
  cancelled?: boolean;
  /** An actor call: refs it decodes may stay in the actor's state, so the driver holds them for the thread. */
  actor?: boolean;
}

export const taskContext = new AsyncLocalStorage<TaskContext>();
