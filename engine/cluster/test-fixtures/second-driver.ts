// A second driver of a cluster (its own process): joins at argv[2], finds the actor named argv[3] by getActor,
// calls add(argv[4]) on it, prints the result as one JSON line, and shuts down.
import { init } from "loom-dag";

const [address, name, n] = process.argv.slice(2);
const rt = await init({ address: address! });
try {
  const counter = rt.getActor(name!);
  const result = await rt.get(counter.add.remote(Number(n)));
  process.stdout.write(`${JSON.stringify({ result, pid: process.pid })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: { name: (e as Error).name, message: (e as Error).message }, pid: process.pid })}\n`);
} finally {
  await rt.shutdown();
}
