// A parameter server: one actor keeps the weights; four training tasks each get them, compute a gradient on
// their shard, and update the actor, 60 times. Calls on the actor run one at a time, so no update is lost.
import { init } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module<typeof import("./server.js")>(new URL("./server.ts", import.meta.url));
  const server = m.ParameterServer.remote(3, 0.1);
  const trainers = [0, 1, 2, 3].map((shard) => m.train.remote(server, shard, 60));
  const lastUpdates = await rt.get(trainers);
  const weights = await rt.get(server.get.remote());
  console.log(`updates applied: ${Math.max(...lastUpdates)} (4 trainers × 60 steps)`);
  console.log(`weights: w0 ${weights[0]!.toFixed(3)}, w1 ${weights[1]!.toFixed(3)}, bias ${weights[2]!.toFixed(3)} (true: 3, -2, 0.5)`);
} finally {
  await rt.shutdown();
}
