// Actor ids are minted by each process (every driver's first child is task 1), so two processes' actors may
// share an id. A process counts the handles it holds per actor, and must not mix up its own actor with another
// process's actor of the same id: holding the other one's handle in a stored value kept its own actor alive
// (marked as escaped to another process) after its last handle went.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { init, type Runtime, type ModuleWrappers, type ActorHandle } from "loom-dag";
import { Cluster } from "loom-dag/testing";
import type * as Tasks from "./test-fixtures/spill-tasks.js";

const TASKS = new URL("./test-fixtures/spill-tasks.ts", import.meta.url);
const OTHER_DRIVER = fileURLToPath(new URL("./test-fixtures/named-actor-driver.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let cluster: Cluster | undefined;
let rt: Runtime | undefined;
let other: ChildProcess | undefined;

after(async () => {
  other?.kill("SIGKILL");
  await rt?.shutdown();
  await cluster?.shutdown();
});

/** Starts the other driver; resolves with the id of the named actor it made (within 30 s). */
function startOtherDriver(address: string, name: string): Promise<number> {
  other = spawn(process.execPath, ["--import", "tsx", OTHER_DRIVER, address, name], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: other.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the other driver did not report its actor within 30 s")), 30_000);
    lines.once("line", (line) => { clearTimeout(timer); resolve((JSON.parse(line) as { actorId: number }).actorId); });
    other!.once("exit", (code) => { clearTimeout(timer); reject(new Error(`the other driver exited (${code})`)); });
  });
}

/** Makes actors of ours until one has the id `id` (at most 20), and keeps that one in `box`. */
function makeOurs(m: ModuleWrappers<typeof Tasks>, id: number, box: { ours?: ActorHandle<Tasks.PlacedTally> }): void {
  for (let i = 0; i < 20 && !box.ours; i++) {
    const made = m.PlacedTally.remote();
    if ((made as unknown as { actorId: number }).actorId === id) box.ours = made;
  }
}

async function addTo(box: { ours?: ActorHandle<Tasks.PlacedTally> }, n: number): Promise<number> {
  return (await rt!.get(box.ours!.add.remote(n))).total;
}

test("another process's actor with our actor's id: holding its handle in a value does not keep ours alive", { timeout: 60_000 }, async () => {
  cluster = await Cluster.start({ head: { workers: 0 }, nodes: [{ workers: 2 }], nodeTimeoutMs: 2_000 });
  rt = await init({ address: cluster.address });
  const m: ModuleWrappers<typeof Tasks> = await rt.module<typeof Tasks>(TASKS);
  const otherId = await startOtherDriver(cluster.address, "theirs");
  // Ours: the actor of this driver whose id is the other driver's actor's (ids count up from 1 in each driver).
  // Held only in `box` (helpers make and call it: a suspended async function may keep what its locals held).
  const box: { ours?: ActorHandle<Tasks.PlacedTally> } = {};
  makeOurs(m, otherId, box);
  assert.ok(box.ours, `this driver made an actor with the id ${otherId}`);
  assert.equal(await addTo(box, 2), 2);
  const theirs = rt.getActor<Tasks.PlacedTally>("theirs");
  const holder = rt.put({ theirs }); // a stored value holding their handle
  delete box.ours;
  const deadline = Date.now() + 10_000;
  // Every actor of ours has lost its handles: each ends and leaves the table (others' actors are not in it).
  while (rt.tableSizes().actors > 0) {
    if (Date.now() > deadline) assert.fail(`${rt.tableSizes().actors} actors of ours still live 10 s after their last handles went`);
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  // Their actor is untouched, and still callable through the held handle.
  const [{ theirs: held }] = await rt.get([holder]);
  assert.equal((await rt.get(held.add.remote(5))).total, 6);
});
