// Plain-TypeScript versions of the core's structures over the same shared memory layout: the baselines of
// bench/micro/core-vs-js.ts and the second implementation the props in props/core/ interleave with the wasm.
export * as jsQueue from "./js-ready-queue.js";
export * as jsArena from "./js-arena.js";
export * as jsObjects from "./js-object-table.js";
export * as jsTasks from "./js-task-table.js";
export { JsCore, wasmOps, type CoreOps } from "./js-core.js";
