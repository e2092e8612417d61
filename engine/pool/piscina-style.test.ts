// The piscina-style suite, run against piscina itself and against loom/pool: moving
// it over is the one line that names the class.
import { after, before, describe } from "node:test";
import { Piscina } from "piscina";
import { init, type Runtime } from "../index.js";
import { Pool } from "./index.js";
import { piscinaStyleSuite } from "./piscina-style.js";

describe("piscina", () => piscinaStyleSuite("piscina", Piscina));

describe("loom/pool", () => {
  // One runtime for the whole suite (each Pool reuses it), so the suite does not pay
  // for starting workers in every test.
  let rt: Runtime;
  before(async () => {
    rt = await init({ workers: 2 });
  });
  after(() => rt.shutdown());
  piscinaStyleSuite("loom/pool", Pool);
});
