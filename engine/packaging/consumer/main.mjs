// Run with plain `node main.mjs`: prints what the tasks and the actor computed, and where Loom was loaded from.
import { init } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module(new URL("./tasks.mjs", import.meta.url));
  const counter = m.Counter.remote(10);
  counter.inc.remote(1);
  const [sum, squares, count, inTask] = await rt.get([
    m.add.remote(m.add.remote(1, 2), 3), m.sumOfSquares.remote(4), counter.inc.remote(5), m.whereIsLoom.remote(),
  ]);
  process.stdout.write(JSON.stringify({ sum, squares, count, inTask, inDriver: import.meta.resolve("loom-dag") }));
} finally {
  await rt.shutdown();
}
