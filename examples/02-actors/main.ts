// Actors: state that lives in a worker, methods called in order, handles passed to tasks, a named actor, and
// a restart after a crash that replays the calls so the state comes back.
import { init } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module<typeof import("./inventory.js")>(new URL("./inventory.ts", import.meta.url));
  const warehouse = m.Inventory.options({ name: "warehouse", maxRestarts: 1 }).remote({ bolts: 10, nuts: 4 });

  // Tasks get the handle as an argument and call the actor themselves; its calls never interleave.
  const orders = [["bolts", 6], ["bolts", 6], ["nuts", 3], ["nuts", 1]] as const; // the nuts fit together; the bolts do not
  for (const line of await rt.get(orders.map(([item, count]) => m.placeOrder.remote(warehouse, item, count)))) {
    console.log(line);
  }

  // A task finds the same actor by its name.
  console.log(`nuts after restocking: ${await rt.get(m.restockByName.remote("nuts", 5))}`);

  // Crash the actor: it restarts and replays its method log, so its state is as before the crash.
  const before = await rt.get(warehouse.report.remote());
  rt.faults.killActor(warehouse);
  const after = await rt.get(warehouse.report.remote());
  console.log(`before the crash: ${JSON.stringify(before)}`);
  console.log(`after the restart: ${JSON.stringify(after)}`);
} finally {
  await rt.shutdown();
}
