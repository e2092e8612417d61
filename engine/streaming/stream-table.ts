// The driver's table of streaming generators: per generator, the yields that arrived (held until the consumer
// takes their refs), the consumer's waiting next() calls, backpressure, and the end; and per yielded object, the
// generator that made it (its lineage). The runtime registers and seals each yield and then hands it here; this
// table never touches the store.
import { ObjectRefGenerator, type StreamSource } from "./object-ref-generator.js";
import { objectIdOf, streamItemId, taskIdOfObject, type ObjectId, type TaskId } from "../ids.js";
import type { ObjectRef } from "../refs.js";
import { releaseCallSites } from "../errors.js";

/** What a stream needs from the runtime: holds on objects, refs for the consumer, and the generator's end. */
export interface StreamHost {
  hold(id: ObjectId): void;
  release(id: ObjectId): void;
  /** A counted ref for the consumer (it holds the object from then on). */
  refFor(id: ObjectId): ObjectRef;
  /** Tells the worker running the generator how many yields were taken (it may go on while fewer wait). */
  ack(worker: number, taskId: TaskId, taken: number): void;
  /** Resolves with the generator's count of yields when it ends; rejects with its error. */
  ended(taskId: TaskId): Promise<number>;
}

interface Waiter {
  resolve(ref: ObjectRef | undefined): void;
  reject(error: Error): void;
}

class Stream implements StreamSource {
  /** Yields arrived, indexes 0..received-1; those from `taken` on wait in `queue`, each held once. */
  private received = 0;
  private taken = 0;
  private readonly queue: ObjectId[] = [];
  private readonly waiters: Waiter[] = [];
  /** The generator ended: with its count of yields, or with an error not yet handed to the consumer. */
  private end: { count: number } | { error: Error } | undefined;
  private errorHandedOut = false;
  private cancelled: Error | undefined;
  private closed = false;
  /** The generator's worker waits until `need` yields are taken (generatorBackpressure). */
  private room: { worker: number; need: number } | undefined;

  constructor(
    readonly taskId: TaskId, private readonly host: StreamHost,
    private readonly note: (taskId: TaskId, id: ObjectId) => void, private readonly onDone: (s: Stream) => void,
  ) {
    host.hold(objectIdOf(taskId, 0)); // the end object: released with the stream
    host.ended(taskId).then((count) => this.ended({ count }), (error: Error) => this.ended({ error }));
  }

  /** A yield was sealed. False when the stream does not keep it (a retry's repeat, or nobody consumes). */
  arrived(index: number): boolean {
    if (this.closed || this.cancelled || index < this.received) return false;
    // Yields come in order from one run; a gap (never seen) is filled with the objects it names, rebuilt on read.
    this.receiveUpTo(index + 1);
    this.wake();
    return true;
  }

  next(): Promise<ObjectRef | undefined> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.wake();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of this.queue.splice(0)) this.host.release(id);
    for (const w of this.waiters.splice(0)) w.resolve(undefined);
    this.openRoom(Infinity);
    this.host.release(objectIdOf(this.taskId, 0));
    this.onDone(this);
  }

  cancel(error: Error): void {
    if (this.closed || this.end) return;
    this.cancelled = releaseCallSites(error); // kept until the consumer's next next(), which may never come
    for (const id of this.queue.splice(0)) this.host.release(id);
    this.openRoom(Infinity);
    this.wake();
  }

  /** The generator's worker asks to go on once `need` yields are taken. */
  wantRoom(worker: number, need: number): void {
    if (this.closed || this.cancelled || this.end || this.taken >= need) {
      this.host.ack(worker, this.taskId, this.closed || this.cancelled || this.end ? Infinity : this.taken);
      return;
    }
    this.room = { worker, need };
  }

  /** Queues yields received..count-1 for the consumer, each held until taken. */
  private receiveUpTo(count: number): void {
    for (; this.received < count; this.received++) {
      const id = streamItemId(this.taskId, this.received);
      this.note(this.taskId, id);
      this.host.hold(id);
      this.queue.push(id);
    }
  }

  private ended(end: { count: number } | { error: Error }): void {
    if (this.closed || this.end) return;
    this.end = end;
    // Yields the driver never saw arrive (none in a normal run) are named by index; a read rebuilds them.
    if ("count" in end && !this.cancelled) this.receiveUpTo(end.count);
    this.openRoom(Infinity);
    this.wake();
  }

  /** Answers waiting next() calls from what is known now. */
  private wake(): void {
    while (this.waiters.length) {
      if (this.closed) { this.waiters.shift()!.resolve(undefined); continue; }
      if (this.cancelled) {
        const w = this.waiters.shift()!;
        if (this.errorHandedOut) w.resolve(undefined);
        else { this.errorHandedOut = true; w.reject(this.cancelled); }
        continue;
      }
      if (this.queue.length) {
        const id = this.queue.shift()!;
        const ref = this.host.refFor(id);
        this.host.release(id);
        this.taken++;
        if (this.room && this.taken >= this.room.need) this.openRoom(this.taken);
        this.waiters.shift()!.resolve(ref);
        continue;
      }
      if (!this.end) return;
      const w = this.waiters.shift()!;
      if ("error" in this.end && !this.errorHandedOut) { this.errorHandedOut = true; w.reject(this.end.error); }
      else w.resolve(undefined);
    }
    if ((this.end || this.cancelled) && this.queue.length === 0 && (this.errorHandedOut || (this.end && "count" in this.end))) this.close();
  }

  private openRoom(taken: number): void {
    const room = this.room;
    this.room = undefined;
    if (room) this.host.ack(room.worker, this.taskId, taken);
  }
}

export class StreamTable {
  private readonly streams = new Map<TaskId, Stream>();
  /** The generator of each yielded object the driver knows (its lineage: a lost yield re-executes it). */
  private readonly producers = new Map<ObjectId, TaskId>();
  /** A generator nobody iterates any more: its yields not yet taken are released. */
  private readonly abandoned = new FinalizationRegistry<TaskId>((taskId) => this.streams.get(taskId)?.close());

  constructor(private readonly host: StreamHost) {}

  /** Opens the stream of a streaming task just submitted; returns what the caller iterates. */
  open<T>(taskId: TaskId, owner: object): ObjectRefGenerator<T> {
    const stream = new Stream(taskId, this.host, (t, id) => this.noteItem(t, id), (s) => { if (this.streams.get(s.taskId) === s) this.streams.delete(s.taskId); });
    this.streams.set(taskId, stream);
    const gen = new ObjectRefGenerator<T>(taskId, stream, owner);
    this.abandoned.register(gen, taskId);
    return gen;
  }

  /** The task whose lineage makes an object: its id's task, or for a streaming generator's yield, the generator. */
  producerOf(id: ObjectId): TaskId {
    return this.producers.get(id) ?? taskIdOfObject(id);
  }

  /** A yield is about to be registered: its lineage is the generator's. */
  noteItem(taskId: TaskId, id: ObjectId): void {
    if (this.producers.get(id) === taskId) return;
    this.producers.set(id, taskId);
    const items = this.itemsOf.get(taskId);
    if (items) items.push(id); else this.itemsOf.set(taskId, [id]);
  }

  /** Each generator's yields, for forgetProducer. */
  private readonly itemsOf = new Map<TaskId, ObjectId[]>();

  /**
   * A yielded object was freed. Its generator is named for it still while the generator's lineage is kept: a
   * task that read the yield may need it rebuilt, and only the generator's re-execution makes it again.
   */
  forgetItem(id: ObjectId, kept: (generator: TaskId) => boolean): void {
    const generator = this.producers.get(id);
    if (generator !== undefined && !kept(generator)) this.producers.delete(id);
  }

  /** A generator's task was forgotten (nothing can need its lineage): its yields are no longer its. */
  forgetProducer(taskId: TaskId): void {
    const items = this.itemsOf.get(taskId);
    if (!items) return;
    this.itemsOf.delete(taskId);
    for (const id of items) if (this.producers.get(id) === taskId) this.producers.delete(id);
  }

  /** A yield was sealed; true when its stream holds it for the consumer. */
  arrived(taskId: TaskId, index: number): boolean {
    return this.streams.get(taskId)?.arrived(index) ?? false;
  }

  /** The generator's worker waits for room; answered at once when the stream is gone. */
  wantRoom(worker: number, taskId: TaskId, need: number): void {
    const stream = this.streams.get(taskId);
    if (stream) stream.wantRoom(worker, need);
    else this.host.ack(worker, taskId, Infinity);
  }

  /** The generator was cancelled: its consumer's next() rejects with `error` at once. */
  cancelled(taskId: TaskId, error: Error): void {
    this.streams.get(taskId)?.cancel(error);
  }
}
