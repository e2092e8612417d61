// A driver in plain JavaScript, run by `node` with no loader: prints what its tasks and actor computed.
import { init } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module(new URL("./plain-tasks.mjs", import.meta.url));
  const tally = m.Tally.remote(10);
  const out = await rt.get([m.add.remote(1, 2), m.addOneNested.remote(5), tally.add.remote(5), rt.remote((x) => x * 2).remote(21)]);
  process.stdout.write(JSON.stringify(out));
} finally {
  await rt.shutdown();
}
