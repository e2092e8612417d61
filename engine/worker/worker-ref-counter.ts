// Counts this thread's ObjectRefs to the objects the driver holds for it (its puts, its children's results, refs
// an actor call borrowed) and reports those it dropped. Does not decide when an object is freed: the driver does.
// Actor handles count the same way, on their actor's handle object (ids.ts: actorHandleObjectId).
import { ObjectRef, type RefOwner } from "../refs.js";
import { actorHandleObjectId, type ActorId, type ObjectId } from "../ids.js";
import type { DriverLink } from "../transport/driver-link.js";
import { taskContext } from "./task-context.js";

/** Finalized refs are gathered this long before one report goes to the driver. */
const DROP_REPORT_MS = 20;

export class WorkerRefCounter implements RefOwner {
  /** Live ObjectRefs in this thread per object it put; an id stays at 0 until the next drop report. */
  private readonly putRefs = new Map<ObjectId, number>();
  private readonly putRefFinalizer = new FinalizationRegistry<ObjectId>((id) => {
    const n = this.putRefs.get(id)! - 1;
    this.putRefs.set(id, n);
    if (n > 0) return;
    this.droppedPuts.push(id);
    if (this.droppedPuts.length === 1) setTimeout(this.reportDroppedPuts, DROP_REPORT_MS);
  });
  private droppedPuts: ObjectId[] = [];

  constructor(private readonly link: DriverLink) {}

  /**
   * Counts this thread's ObjectRefs to the objects it put and to the results of tasks it submitted: the driver
   * holds each such object for this thread until told that none is left here (or, for a plain task's
   * children, for the parent's lineage). Other refs are held by the driver through task arguments and stored
   * values, so they are not counted (a map miss per decoded ref).
   */
  trackRef(ref: ObjectRef): void {
    const n = this.putRefs.get(ref.id);
    if (n === undefined) {
      // A ref decoded inside an actor call may stay in the actor's state after the call: borrowed, as in Ray.
      if (taskContext.getStore()?.actor !== true) return;
      this.borrow(ref);
      return;
    }
    this.putRefs.set(ref.id, n + 1);
    this.putRefFinalizer.register(ref, ref.id);
  }

  /**
   * Asks the driver to hold `ref`'s object for this thread until no ref to it is left here (the "refs" report).
   * Posted before the call ends, so it reaches the driver before the call's end releases the call's own holds.
   */
  borrow(ref: ObjectRef): void {
    if (!this.putRefs.has(ref.id)) {
      this.putRefs.set(ref.id, 0);
      this.link.post({ t: "borrow", id: ref.id });
    }
    this.putRefs.set(ref.id, this.putRefs.get(ref.id)! + 1);
    this.putRefFinalizer.register(ref, ref.id);
  }

  /**
   * Counts an actor handle made or decoded here, as trackRef counts a ref: the driver holds its actor for this
   * thread when the thread made the actor, or (`borrow`, an actor call's decoded handles) once asked to.
   * Handles decoded by a plain task are held by the task's arguments, or by the value they came in.
   */
  trackHandle<H extends object>(handle: H, actor: ActorId, borrow = taskContext.getStore()?.actor === true): H {
    if (this.trackedHandles.has(handle)) return handle;
    const id = actorHandleObjectId(actor);
    if (!this.putRefs.has(id)) {
      if (!borrow) return handle;
      this.putRefs.set(id, 0);
      this.link.post({ t: "borrow", id });
    }
    this.putRefs.set(id, this.putRefs.get(id)! + 1);
    this.putRefFinalizer.register(handle, id);
    this.trackedHandles.add(handle);
    return handle;
  }
  /** Handles counted once already (an actor call's handles pass through trackHandle twice: see PayloadReader). */
  private readonly trackedHandles = new WeakSet<object>();

  /** Counts the refs to `id` made from now on: the driver holds it for this thread (a put, a child's result). */
  expectRefs(id: ObjectId): void {
    if (!this.putRefs.has(id)) this.putRefs.set(id, 0);
  }

  /**
   * One message per batch. An id that gained a ref again since (a value read back here decoded one) is kept.
   * Sent uncounted: it is not a task's message (see TaskCompleter.finish), and it follows every message that
   * made another hold on the object (a put containing the ref, a submission passing it), the link being FIFO.
   */
  private readonly reportDroppedPuts = (): void => {
    const drop = this.droppedPuts.filter((id) => this.putRefs.get(id) === 0);
    this.droppedPuts = [];
    for (const id of drop) this.putRefs.delete(id);
    if (drop.length) this.link.send({ t: "refs", drop });
  };
}
