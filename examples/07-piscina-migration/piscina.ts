// A piscina program: workerData, events, a moved buffer, an aborted task, close. on-loom.ts is this file
// with its import line changed.
import { Piscina } from "piscina";

export const tasks = new URL("./tasks.mjs", import.meta.url).href;

export interface Report { scaled: number[]; sum: number; movedLength: number; aborted: string; threadsMade: number; closed: boolean }

export async function main(): Promise<Report> {
  const pool = new Piscina({ filename: tasks, minThreads: 1, maxThreads: 2, workerData: { scale: 3 } });
  let threadsMade = 0;
  let closed = false;
  pool.on("workerCreate", () => threadsMade++);
  pool.on("close", () => (closed = true));
  const scaled = await Promise.all([1, 2, 3, 4].map((n) => pool.run(n)));
  const values = new Float64Array([1.5, 2.5, 3]);
  const sum = await pool.run(Piscina.move(values), { name: "sum" });
  const ac = new AbortController();
  const spinning = pool.run(60_000, { name: "spin", signal: ac.signal });
  ac.abort();
  const aborted = await spinning.then(String, (e: Error) => `${e.name}: ${e.message}`);
  await pool.close();
  return { scaled, sum, movedLength: values.length, aborted, threadsMade, closed };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await main());
