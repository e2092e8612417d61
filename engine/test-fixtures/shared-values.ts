// Tasks for the shared-values tests: they report how values arrived in a worker and write through views, which
// only a test may do (objects are immutable by contract; a write seen elsewhere proves there is one copy).
import type { Table } from "apache-arrow";
import { meet } from "./tasks.js";

/** Meets the other writers, then writes `v` at `a[at]`; returns what this thread then sees at `a[0..parties)`. */
export function meetAndWrite(a: Float64Array, at: number, v: number, arrived: Int32Array, parties: number): number[] {
  if (!meet(arrived, 0, parties, 5_000)) throw new Error("the writers did not run at the same time");
  a[at] = v;
  if (!meet(arrived, 2, parties, 5_000)) throw new Error("the writers did not all write in time");
  return Array.from(a.subarray(0, parties));
}

/** How each binary piece of a value arrived: its constructor, and whether its memory is shared. */
export function describeBinary(value: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (v: unknown, path: string): void => {
    if (ArrayBuffer.isView(v)) out[path] = `${v.constructor.name}:${v.buffer instanceof SharedArrayBuffer ? "shared" : "copy"}`;
    else if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) out[path] = `${v.constructor.name}`;
    else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${path}[${i}]`));
    else if (v instanceof Map) for (const [k, x] of v) visit(x, `${path}.get(${String(k)})`);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) visit(x, `${path}.${k}`);
  };
  visit(value, "value");
  return out;
}

/** Sums a numeric column of an Arrow table; reports whether the column's data is a view on shared memory. */
export function arrowColumnSum(table: Table, column: string): { sum: number; rows: number; shared: boolean } {
  const vector = table.getChild(column);
  if (!vector) throw new Error(`no column ${column}`);
  let sum = 0;
  let shared = true;
  for (const data of vector.data) {
    shared &&= data.values.buffer instanceof SharedArrayBuffer;
    for (let i = 0; i < data.length; i++) sum += Number(data.values[i]);
  }
  return { sum, rows: table.numRows, shared };
}

/** Writes `v` into row `row` of a Float64 column, through the worker's view of the stored table. */
export function arrowWrite(table: Table, column: string, row: number, v: number): number {
  const data = table.getChild(column)!.data[0]!;
  (data.values as Float64Array)[data.offset + row] = v;
  return v;
}

export function identity<T>(x: T): T {
  return x;
}
