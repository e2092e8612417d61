// An actor that keeps and forgets the objects it puts, for the worker-side ref counting tests.
import { current, type ObjectRef } from "loom-dag";

const gc = (globalThis as { gc?: () => void }).gc;

export class Holder {
  private kept: ObjectRef<Uint8Array>[] = [];

  /** Puts n objects and keeps their refs in this actor's state. */
  keep(n: number, bytes: number): number {
    for (let i = 0; i < n; i++) this.kept.push(current().put(new Uint8Array(bytes).fill(i)));
    return this.kept.length;
  }

  /** Puts one object and gives its ref away in the result, keeping none. */
  giveOne(bytes: number): ObjectRef<Uint8Array> {
    return current().put(new Uint8Array(bytes).fill(7));
  }

  /** Puts one object and stores its ref inside another put object, which the result names. */
  wrapOne(bytes: number): ObjectRef<{ inner: ObjectRef<Uint8Array> }> {
    return current().put({ inner: current().put(new Uint8Array(bytes).fill(9)) });
  }

  forget(): number {
    this.kept = [];
    return 0;
  }

  /** Collects this thread's garbage; finalizers run on a later turn, so it waits a little. */
  async collect(): Promise<boolean> {
    gc?.();
    await new Promise((r) => setTimeout(r, 30));
    return gc !== undefined;
  }
}
