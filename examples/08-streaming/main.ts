// Streaming: a generator task hands each chunk to the driver as soon as it is yielded, and a stats task starts on
// that chunk while the generator is still reading the next ones.
import { init, type ObjectRef } from "loom-dag";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module<typeof import("./readings.js")>(new URL("./readings.ts", import.meta.url));
  await rt.get([m.stats.remote(new Float64Array(1)), m.stats.remote(new Float64Array(1))]); // workers load the module
  const started = performance.now();
  // numReturns: "streaming" makes .remote() return an ObjectRefGenerator at once; generatorBackpressure: 4 pauses
  // the generator while four chunks wait untaken, so a slow consumer bounds the memory in flight.
  const gen = m.chunks.options({ numReturns: "streaming", generatorBackpressure: 4 }).remote(8, 250_000, 100);
  const summaries: ObjectRef<{ min: number; max: number; mean: number }>[] = [];
  for await (const chunk of gen) {
    if (summaries.length === 0) console.log(`first chunk after ${Math.round(performance.now() - started)} ms (the generator reads for about 800 ms)`);
    summaries.push(m.stats.remote(chunk)); // the chunk's ref goes straight to a task: no copy through the driver
  }
  const all = await rt.get(summaries);
  all.forEach((s, i) => console.log(`chunk ${i}: min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)}, mean ${s.mean.toFixed(3)}`));
  console.log(`${all.length} chunks summarised in ${Math.round(performance.now() - started)} ms`);
} finally {
  await rt.shutdown();
}
