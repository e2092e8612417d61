// piscina's README example, as its users write it: a pool, one task, and the process exits.
import { Piscina } from "piscina";

const piscina = new Piscina({ filename: new URL("./tasks.mjs", import.meta.url).href });
console.log(await piscina.run({ a: 4, b: 6 }));
