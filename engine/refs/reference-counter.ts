// Reference counting: local refs (ObjectRef instances), submitted and nested refs, refs held for worker threads
// (their puts and borrows) and the results a parent's lineage pins. Decides when an object can go; the
// object directory frees it. Actor handles are counted the same way, on their actor's handle object
// (ids.ts: actorHandleObjectId); when none is left anywhere, the actor manager hears of it.
import { objectIdOf, taskIdOfObject, actorHandleObjectId, isActorHandleObject, actorOfHandleObject, type ObjectId, type TaskId, type ActorId } from "../ids.js";
import type { ObjectRef } from "../refs.js";
import { NONE, type TaskEntry } from "../tasks/task-entry.js";
import { LOCAL_NODE, type ObjectEntry } from "../object-store/object-directory.js";

/** The rows the counter counts on (object-directory.ts): it frees a row through freeObject, never itself. */
export interface RefTable {
  get(id: ObjectId): ObjectEntry | undefined;
  set(id: ObjectId, o: ObjectEntry): void;
  freeObject(o: ObjectEntry): void;
}

/** The task table (task-manager.ts), read to see whether an object's producer may still seal it. */
export interface TaskLookup {
  get(id: TaskId): TaskEntry | undefined;
}

export class ReferenceCounter {
  /**
   * @param objects the object table
   * @param tasks the task table
   * @param isSealed whether a core entry (ObjectEntry.entry, non-zero) is sealed
   * @param producerOf the task whose lineage makes an object (a streaming generator for its yields)
   */
  constructor(
    private readonly objects: RefTable, private readonly tasks: TaskLookup, private readonly isSealed: (entry: number) => boolean,
    private readonly producerOf: (id: ObjectId) => TaskId = taskIdOfObject,
    /** No handle of the actor is left: not in the driver, a worker, a task's arguments nor a stored value. */
    private readonly handlesGone: (actor: ActorId) => void = () => {},
    /** A handle of the actor is held by an encoded value (see ActorManager.handleHeldByValue). */
    private readonly handleHeldByValue: (actor: ActorId) => void = () => {},
  ) {}

  private readonly finalizer = new FinalizationRegistry<ObjectId>((id) => this.decRef(id));
  /** Per worker index: the objects that thread put and may still hold refs to; one ref each (see "put"). */
  readonly workerPuts: Array<Set<ObjectId>> = [];
  /**
   * Holds the results of a task a worker submitted; its thread has refs to them (it may read them after their
   * dependents ended, or keep them in an actor's state):
   * 1. Submitted by a plain task: the parent's lineage holds them until the parent is forgotten, so a
   *    re-execution of the parent reuses its finished children instead of running them again (SPEC).
   * 2. Otherwise (an actor call): held for the thread like its puts, until it reports them dropped or dies.
   */
  holdResultsForThread(index: number, child: TaskEntry, parentId: TaskId): void {
    const parent = this.tasks.get(parentId);
    if (parent && parent.kind === "task") {
      if (this.heldByParent.has(child)) return; // a re-executed parent submitting it again
      this.heldByParent.add(child);
      if (parent.heldPuts === NONE) parent.heldPuts = [];
      for (let i = 0; i < child.options.numReturns; i++) {
        const id = objectIdOf(child.id, i);
        this.incRef(id);
        parent.heldPuts.push(id);
      }
      return;
    }
    for (let i = 0; i < child.options.numReturns; i++) this.holdForThread(index, objectIdOf(child.id, i), parentId);
  }

  /** Children whose results their parent's lineage holds (see holdResultsForThread). */
  private readonly heldByParent = new WeakSet<TaskEntry>();

  holdForThread(index: number, id: ObjectId, parentId: TaskId): void {
    const held = this.workerPuts[index] ??= new Set();
    if (held.has(id)) return;
    held.add(id);
    this.incRef(id);
    const parent = this.tasks.get(parentId);
    if (parent && parent.kind === "task" && (parent.state === "pending" || parent.state === "running")) {
      if (parent.ownedPuts === NONE) parent.ownedPuts = [];
      parent.ownedPuts.push(id);
    }
  }

  releaseWorkerPut(index: number, id: ObjectId): void {
    if (this.workerPuts[index]?.delete(id)) this.decRef(id);
  }

  holdContained(o: ObjectEntry, refs: ObjectId[]): void {
    if (refs.length === 0) return;
    if (o.contains === NONE) o.contains = [];
    for (const r of refs) { this.incRef(r); o.contains.push(r); }
  }

  trackRef(ref: ObjectRef): void {
    const o = this.objects.get(ref.id);
    if (o) o.refs++;
    else this.objects.set(ref.id, { id: ref.id, entry: 0, node: LOCAL_NODE, refs: 1, isPut: false, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false });
    this.finalizer.register(ref, ref.id);
  }

  /** Counts an actor handle made or decoded in the driver until it is collected. */
  trackHandle<H extends object>(handle: H, actor: ActorId): H {
    const id = actorHandleObjectId(actor);
    this.holdRow(id);
    this.finalizer.register(handle, id);
    return handle;
  }

  /**
   * Takes a hold that a later decRef gives back. A hold on an object that is not known now (freed, or not yet
   * registered) is kept on a placeholder entry, as trackRef does: registerObject fills it in when the object is
   * registered (or rebuilt) again, so the hold is not lost, and the matching decRef cannot free a later
   * registration that others hold.
   */
  incRef(id: ObjectId): void {
    if (isActorHandleObject(id)) this.handleHeldByValue(actorOfHandleObject(id));
    this.holdRow(id);
  }

  /** One more hold on a row (a placeholder while the object is unknown: see incRef). */
  private holdRow(id: ObjectId): void {
    const o = this.objects.get(id);
    if (o) o.refs++;
    else this.objects.set(id, { id, entry: 0, node: LOCAL_NODE, refs: 1, isPut: false, sealedHere: false, freeWhenSealed: false, contains: NONE, lineageCounted: false });
  }

  decRef(id: ObjectId): void {
    const o = this.objects.get(id);
    if (!o) return;
    if (--o.refs > 0) return;
    if (isActorHandleObject(id)) {
      // Nothing is stored under it: the row only counted handles.
      this.objects.freeObject(o);
      this.handlesGone(actorOfHandleObject(id));
      return;
    }
    const task = this.tasks.get(this.producerOf(id));
    const sealed = o.entry !== 0 && this.isSealed(o.entry);
    // Unsealed with its producer still to run or running: freed when the seal comes (SealWaiters.onSealed). A sealed
    // one (a yield or a put of a running task) is freed now: no seal is coming to free it later.
    if (!sealed && task && (task.state === "pending" || task.state === "running")) { o.freeWhenSealed = true; return; }
    this.objects.freeObject(o);
  }
}
