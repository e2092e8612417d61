// Runs streaming generators on this thread: drives a generator to its end, writing each yield to the store and
// telling the driver (which seals it and hands its ref to the consumer), and holds a generator back while the
// driver says too many of its yields wait untaken (generatorBackpressure). The task's own end (the count of
// yields) is sealed by the TaskCompleter, like any return.
import * as L from "../../core-wasm/shared/layout.js";
import type { Core } from "../wasm/core.js";
import type { ObjectStore } from "../object-store/object-store.js";
import { encodeValue } from "../serialization/value-codec.js";
import { LoomError } from "../errors.js";
import { streamItemId, idLo, idHi, formatTaskId, type TaskId } from "../ids.js";
import type { DriverLink } from "../transport/driver-link.js";
import { describeArgument } from "../api-checks.js";
import { taskContext, type TaskContext } from "./task-context.js";
import { crashPoint, CRASH_SEALING } from "./crash-points.js";
import type { TaskPayload } from "./payload-reader.js";
import type { CpuSlot } from "./task-pump.js";

export class StreamRunner {
  /** Per running generator with backpressure: yields known taken, and the wait for more (see room). */
  private readonly waits = new Map<TaskId, { taken: number; need: number; resolve?: () => void }>();

  constructor(
    private readonly core: Core, private readonly store: ObjectStore, private readonly link: DriverLink,
    private readonly cpu: Pick<CpuSlot, "withoutCpu">,
  ) {}

  /**
   * Runs a streaming generator to its end and returns its count of yields. `post` false (an actor call replayed
   * to rebuild state) runs it for its effects only. A cancelled or timed-out run stops before its next yield,
   * with the abort's reason.
   */
  async run(taskId: TaskId, p: TaskPayload, ctx: TaskContext, gen: unknown, post: boolean): Promise<number> {
    if (!isIterator(gen)) {
      throw new LoomError(`${p.am ? `${p.n}.${p.am}` : p.n} was called with numReturns: "streaming" but returned ${describeArgument(gen)}, not a generator; declare it function* or async function*`);
    }
    const room = p.g ?? 0;
    let index = 0;
    try {
      for (;;) {
        if (room > 0 && post) await this.room(taskId, index, room, ctx);
        if (ctx.cancelled) {
          void Promise.resolve().then(() => gen.return?.(undefined)).catch(() => {});
          throw ctx.controller?.signal.reason ?? new LoomError(`task ${formatTaskId(taskId)} was cancelled`);
        }
        const step = await taskContext.run(ctx, () => gen.next());
        if (step.done) return index;
        if (post) this.yieldItem(taskId, index, step.value);
        index++;
      }
    } finally {
      this.waits.delete(taskId);
    }
  }

  /** The driver's "stream-ack": `taken` yields of the generator were taken by its consumer. */
  onAck(taskId: TaskId, taken: number): void {
    const wait = this.waits.get(taskId);
    if (!wait) return; // the generator ended meanwhile
    wait.taken = taken;
    if (taken >= wait.need) this.release(wait);
  }

  /** The task was aborted: a generator waiting for room goes on, to stop at once. */
  onAbort(taskId: TaskId): void {
    const wait = this.waits.get(taskId);
    if (wait) this.release(wait);
  }

  private release(wait: { resolve?: () => void }): void {
    const resolve = wait.resolve;
    wait.resolve = undefined;
    resolve?.();
  }

  /** Writes one yield and tells the driver; a yield an earlier run of the generator sealed is not written again. */
  private yieldItem(taskId: TaskId, index: number, value: unknown): void {
    const id = streamItemId(taskId, index);
    const ex = this.core.exports;
    const found = ex.objFind(idLo(id), idHi(id));
    if (found !== 0 && ex.objState(found) !== L.OBJ_PENDING) return;
    const e = encodeValue(value, `yielded value ${index}`);
    const where = this.store.writeEncoded(id, e, 0);
    crashPoint(this.core.i32, CRASH_SEALING, taskId);
    this.link.post({ t: "yield", taskId, index, id, location: where.location, size: where.size, flags: where.flags, segment: where.segment, sum: where.sum, refs: e.refs });
  }

  /** Resolves once at most room - 1 of the generator's yields before `index` are untaken (asks the driver). */
  private room(taskId: TaskId, index: number, room: number, ctx: TaskContext): Promise<void> | undefined {
    const need = index - room + 1;
    const known = this.waits.get(taskId);
    if (need <= 0 || known && known.taken >= need) return undefined;
    const wait = new Promise<void>((resolve) => {
      this.waits.set(taskId, { taken: known?.taken ?? 0, need, resolve });
      this.link.post({ t: "stream-wait", taskId, need });
    });
    // Waiting for the consumer: another task may use this thread meanwhile (an actor call holds no slot).
    return ctx.cpu ? this.cpu.withoutCpu(ctx, wait) : wait;
  }
}

function isIterator(value: unknown): value is Iterator<unknown> | AsyncIterator<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { next?: unknown }).next === "function" &&
    (Symbol.iterator in value || Symbol.asyncIterator in value);
}
