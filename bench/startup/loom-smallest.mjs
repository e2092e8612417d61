// The smallest Loom program: start, one task, shut down. bench/workloads/startup.ts times it as a whole process.
import { init } from "loom-dag";

const rt = await init();
const tasks = await rt.module(new URL("./tasks.mjs", import.meta.url));
console.log(await rt.get(tasks.add.remote({ a: 4, b: 6 })));
await rt.shutdown();
