// A driver that calls a killed actor and ends without shutdown(): with nothing left in flight, the runtime lets
// the process exit. Prints the call's error name.
import { init } from "loom-dag";

const rt = await init({ workers: 1 });
const m = await rt.module(new URL("./plain-tasks.mjs", import.meta.url));
const tally = m.Tally.remote(10);
rt.kill(tally);
const why = await rt.get(tally.add.remote(m.add.remote(1, 2))).then(() => "resolved", (e) => e.name);
process.stdout.write(why);
