// Run with plain `node main.mjs`: prints what the tasks and the actor computed, and where Loom was loaded from.
import { init } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module(new URL("./tasks.mjs", import.meta.url));
  const counter = m.Counter.remote(10);
  counter.inc.remote(1);
  // A .ts task module from a plain-node driver: Loom registers tsx for it (in the driver and the workers).
  const ts = await rt.module(new URL("./tasks.ts", import.meta.url));
  const [sum, squares, count, inTask, fromTs] = await rt.get([
    m.add.remote(m.add.remote(1, 2), 3), m.sumOfSquares.remote(4), counter.inc.remote(5), m.whereIsLoom.remote(),
    ts.doubleNested.remote(4),
  ]);
  process.stdout.write(JSON.stringify({ sum, squares, count, fromTs, inTask, inDriver: import.meta.resolve("loom-dag") }));
} finally {
  await rt.shutdown();
}
