// Run with `node --import tsx/esm main.ts`; also type-checked with `tsc --strict` (no casts anywhere).
import { init, TaskError, type ObjectRef } from "loom-dag";
import { InsufficientFunds } from "./tasks.js";

const rt = await init({ workers: 2 });
try {
  const m = await rt.module<typeof import("./tasks.js")>(new URL("./tasks.ts", import.meta.url));
  const total: number = await rt.get(m.add.remote(m.add.remote(1, 2), 3));
  const nested: number = await rt.get(m.doubleNested.remote(5));
  const [doubled, label]: [ObjectRef<number>, ObjectRef<string>] = m.split.options({ numReturns: 2 }).remote(21);
  const both: [number, string] = await rt.get([doubled, label] as const);
  const { ready } = await rt.wait([doubled, label], { numReturns: 2 });
  const readyValues: (number | string)[] = await rt.get(ready);
  const account = m.Account.remote(100);
  const balance: number = await rt.get(account.deposit.remote(20));
  let caught = "";
  try {
    await rt.get(m.withdraw.remote(5, 10));
  } catch (error) {
    if (error instanceof TaskError && error instanceof InsufficientFunds) caught = `${error.remoteName}:${error.balance}`;
    else caught = String(error);
  }
  process.stdout.write(JSON.stringify({ total, nested, both, readyValues, balance, caught }));
} finally {
  await rt.shutdown();
}
