// The piscina-compat suite against loom/pool: the same cases that piscina.test.ts runs against piscina.
import { readFileSync } from "node:fs";
import * as loomPool from "../index.js";
import { suiteFor } from "./suite.js";

process.env.POOL_SUBJECT = "loom";
const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
suiteFor({ label: "loom/pool", Pool: loomPool.default, exports: loomPool as Record<string, unknown>, version });
