// The piscina-compat suite against piscina itself: the cases describe piscina's behaviour, so they must pass here.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import * as piscina from "piscina";
import { suiteFor } from "./suite.js";

process.env.POOL_SUBJECT = "piscina";
// piscina's exports map does not list package.json: read it from the folder its entry lives in.
const entry = createRequire(import.meta.url).resolve("piscina");
const manifest = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}node_modules${path.sep}piscina${path.sep}`)), "node_modules", "piscina", "package.json");
const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
suiteFor({ label: "piscina", Pool: piscina.default, exports: piscina as Record<string, unknown>, version });
