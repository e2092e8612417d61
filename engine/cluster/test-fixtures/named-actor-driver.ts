// A second driver of a cluster (its own process): joins at argv[2], creates a PlacedTally named argv[3] as its
// first actor, prints its actor id as one JSON line once it answers, and stays until its stdin closes.
import { init, type ModuleWrappers } from "loom-dag";
import type * as Tasks from "./spill-tasks.js";

const [address, name] = process.argv.slice(2);
const rt = await init({ address: address! });
const m: ModuleWrappers<typeof Tasks> = await rt.module<typeof Tasks>(new URL("./spill-tasks.ts", import.meta.url));
const tally = m.PlacedTally.options({ name: name! }).remote();
await rt.get(tally.add.remote(1));
process.stdout.write(`${JSON.stringify({ actorId: (tally as unknown as { actorId: number }).actorId })}\n`);
process.stdin.resume();
process.stdin.on("close", () => { void rt.shutdown().then(() => process.exit(0)); });
