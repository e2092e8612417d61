// Every part of the piscina-compat suite, for one subject. Each part is re-expressed from piscina 5's own
// test/*.ts (see README.md in engine/pool for which files and what is left out).
import { abortCases } from "./abort.js";
import { errorCases } from "./errors.js";
import { lifecycleCases } from "./lifecycle.js";
import { optionCases } from "./options.js";
import { surfaceCases } from "./surface.js";
import { taskCases } from "./tasks.js";
import { threadCases } from "./threads.js";
import type { Subject } from "./harness.js";

export function suiteFor(subject: Subject): void {
  surfaceCases(subject);
  optionCases(subject);
  threadCases(subject);
  lifecycleCases(subject);
  errorCases(subject);
  taskCases(subject);
  abortCases(subject);
}
