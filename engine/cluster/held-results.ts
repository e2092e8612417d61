// The results a node holds for the processes that sent it work: a task's or call's answer (small returns
// inline in the reply, the others held here under a key until their owner pulls and releases them), a
// streaming generator's yields sent as they come (with its consumer's backpressure credit), and their release.
import { LoomError } from "../errors.js";
import { ObjectRef } from "../refs.js";
import type { ObjectRefGenerator } from "../streaming/object-ref-generator.js";
import { objectIdOf } from "../ids.js";
import type { Runtime } from "../runtime/runtime.js";
import type { ResultInfo, StreamAck } from "./messages.js";
import { INLINE_RESULT_BYTES } from "./messages.js";
import { MAX_FRAME_BYTES, type Connection } from "./wire.js";
import { merged } from "../merged.js";

/** Inline results of one reply, at most: the rest are held for pulls, so a reply frame stays well under the limit. */
const MAX_INLINE_REPLY_BYTES = Math.min(16 * 2 ** 20, MAX_FRAME_BYTES / 4);

/** What a request's handler answers: the reply's fields and body, and the keys of the results it holds. */
export interface Answer { header: Record<string, unknown>; body?: Uint8Array; held?: string[] }

export class HeldResults {
  /** Results held for pulls: key (`owner/taskId/returnIndex`) → the local ref that keeps the object. Until release. */
  private readonly refs = new Map<string, ObjectRef>();

  constructor(private readonly runtime: Runtime, private readonly nodeId: () => string) {}

  get(key: string): ObjectRef | undefined {
    return this.refs.get(key);
  }

  get size(): number {
    return this.refs.size;
  }

  /**
   * The returns of a task or call, once they settle: small ones inline, the others held under `owner/taskId/returnIndex` until released.
   */
  async results(owner: string, taskId: number, out: ObjectRef | ObjectRef[]): Promise<Answer> {
    const refs = Array.isArray(out) ? out : [out];
    await this.runtime.wait(refs, { numReturns: refs.length });
    const raws = refs.map((ref, i) => {
      const raw = this.runtime.exportObject(ref.id);
      if (!raw) throw new LoomError(`return ${i} of task ${owner}/${taskId} is not readable on node ${this.nodeId()}`);
      // Small ones are copied at once: the view is on the store's memory, which a later export may touch. One
      // that holds refs is held and pulled, its pull saying where the objects it names are.
      return { flags: raw.flags, size: raw.bytes.length, copy: raw.bytes.length <= INLINE_RESULT_BYTES && !raw.hasRefs ? raw.bytes.slice() : undefined };
    });
    const results: ResultInfo[] = [];
    const held: string[] = [];
    const inline: Uint8Array[] = [];
    let inlineBytes = 0;
    raws.forEach(({ flags, size, copy }, i) => {
      if (copy && inlineBytes + size <= MAX_INLINE_REPLY_BYTES) {
        inline.push(copy);
        inlineBytes += size;
        results.push({ flags, size });
      } else {
        const key = `${owner}/${taskId}/${i}`;
        this.refs.set(key, refs[i]!);
        held.push(key);
        results.push({ flags, size, key });
      }
    });
    return { header: { results }, body: Buffer.concat(inline, inlineBytes), held };
  }

  /** Streaming generators running here, by `owner/taskId`: how many yields their consumer took (see stream). */
  private readonly credits = new Map<string, { taken: number; wake?: () => void }>();

  /**
   * A streaming generator: each yield goes to its submitter as it comes (inline when small, else held here
   * under `owner/taskId/y<index>`), and the reply is its end: the count of yields, or its error as a value.
   * With generatorBackpressure n, no more is sent while n sent ones are not taken by the consumer.
   */
  async stream(owner: string, taskId: number, attempt: number, backpressure: number, gen: ObjectRefGenerator, c: Connection): Promise<Answer> {
    const end = new ObjectRef(objectIdOf(gen.taskId, 0), this.runtime); // held from now: the stream may close first
    const key = `${owner}/${taskId}`;
    const credit: { taken: number; wake?: () => void } = { taken: 0 };
    this.credits.set(key, credit);
    try {
      for (let index = 0; ; index++) {
        // Its consumer has n sent and not taken: the next one is not taken from the generator (which pauses once
        // n more wait here).
        while (backpressure > 0 && credit.taken !== -1 && index - credit.taken >= backpressure && !c.closed) {
          c.send({ t: "stream-wait", taskId, attempt, need: index - backpressure + 1 });
          await new Promise<void>((resolve) => { credit.wake = resolve; });
        }
        let next: IteratorResult<ObjectRef>;
        try { next = await gen.next(); } catch { break; } // its error is the end object's
        if (next.done) break;
        const raw = this.runtime.exportObject(next.value.id);
        if (!raw) throw new LoomError(`yield ${index} of task ${key} is not readable on node ${this.nodeId()}`);
        const header = { t: "stream-yield", taskId, attempt, index, flags: raw.flags, size: raw.bytes.length };
        if (raw.bytes.length <= INLINE_RESULT_BYTES && !raw.hasRefs) c.send(header, raw.bytes.slice());
        else {
          const heldKey = `${key}/y${index}`;
          this.refs.set(heldKey, next.value);
          c.send(merged(header, { key: heldKey }));
        }
      }
    } finally {
      if (this.credits.get(key) === credit) this.credits.delete(key);
    }
    return this.results(owner, taskId, end);
  }

  /** The submitter's consumer took yields of a generator running here. */
  streamAck(msg: StreamAck): void {
    const credit = this.credits.get(`${msg.owner}/${msg.taskId}`);
    if (!credit) return;
    credit.taken = msg.taken === -1 || credit.taken === -1 ? -1 : Math.max(credit.taken, msg.taken);
    const wake = credit.wake;
    credit.wake = undefined;
    wake?.();
  }

  release(keys: string[]): void {
    for (const key of keys) this.refs.delete(key);
    if (this.refs.size === 0) for (const wake of this.emptied.splice(0)) wake();
  }

  /** What a dead owner left here goes: its results are dropped (their count returned), its generators run free. */
  releaseOwner(owner: string): number {
    let results = 0;
    const prefix = `${owner}/`;
    for (const key of [...this.refs.keys()]) if (key.startsWith(prefix)) { this.refs.delete(key); results++; }
    if (results > 0 && this.refs.size === 0) for (const wake of this.emptied.splice(0)) wake();
    // Its generators wait for no consumer any more.
    for (const key of [...this.credits.keys()]) if (key.startsWith(prefix)) this.streamAck({ t: "stream-ack", owner, taskId: Number(key.slice(prefix.length)), taken: -1 });
    return results;
  }

  /** Waiting for `held` to empty (handedOver). */
  private readonly emptied: Array<() => void> = [];

  handedOver(timeoutMs: number): Promise<number> {
    if (this.refs.size === 0) return Promise.resolve(0);
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); resolve(this.refs.size); };
      const timer = setTimeout(() => { const i = this.emptied.indexOf(done); if (i >= 0) this.emptied.splice(i, 1); done(); }, timeoutMs);
      this.emptied.push(done);
    });
  }

  clear(): void {
    this.refs.clear();
  }
}
