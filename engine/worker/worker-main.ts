// The worker thread entry: attaches to the driver's shared core and starts taking tasks.
import { workerData, parentPort } from "node:worker_threads";
import { WorkerRuntime } from "./worker-runtime.js";
import type { CoreHandle } from "../wasm/core.js";
import { arrowLoadsOnDemand, preloadArrow } from "../serialization/arrow-module.js";

if (!arrowLoadsOnDemand()) await preloadArrow();
const data = workerData as { handle: CoreHandle; index: number; capacityBytes: number; checksums: boolean };
const runtime = new WorkerRuntime(data.handle, data.index, parentPort!, data.capacityBytes, data.checksums);
runtime.start();
