// SharedArrayBuffers passed on by tasks to the tasks and actors they submit (robustness.test.ts).
import { current } from "loom-dag";

async function self(): Promise<Record<string, any>> {
  return current().module(new URL(import.meta.url)) as Promise<Record<string, any>>;
}

/** Writes v into every cell of a view; returns its length. */
export function fill(view: Int32Array, v: number): number {
  view.fill(v);
  return view.length;
}

/** Makes a SharedArrayBuffer, has a child fill a view of it at an offset, and reads what the child wrote. */
export async function childWritesOwnBuffer(v: number): Promise<number[]> {
  const sab = new SharedArrayBuffer(16);
  await current().get((await self()).fill.remote(new Int32Array(sab, 4, 2), v));
  return Array.from(new Int32Array(sab));
}

/** Passes the driver's buffer on to a child task and to an actor made here, which write into it. */
export async function passOn(sab: SharedArrayBuffer, v: number): Promise<boolean> {
  const m = await self();
  await current().get(m.fill.remote(new Int32Array(sab, 0, 1), v));
  const cell = m.Cell.remote(new Int32Array(sab, 4, 1));
  await current().get(cell.set.remote(v + 1));
  return true;
}

/** An actor that writes into a view it got at construction. */
export class Cell {
  constructor(private readonly view: Int32Array) {}
  set(v: number): boolean {
    this.view[0] = v;
    return true;
  }
}
