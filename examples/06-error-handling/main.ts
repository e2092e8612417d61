// Error handling with your own error class: catch it by class, read its fields and cause, see where it came
// from; dependents fail with the same error; retryExceptions retries a task that throws.
import { init, TaskError } from "loom-dag";
import { InsufficientFunds } from "./bank.js";

const rt = await init({ workers: 1 });
try {
  const m = await rt.module<typeof import("./bank.js")>(new URL("./bank.ts", import.meta.url));

  console.log(`alice pays 100, keeps ${await rt.get(m.pay.remote("alice", 100))}`);

  try {
    await rt.get(m.pay.remote("bob", 40));
  } catch (error) {
    if (error instanceof InsufficientFunds) {
      console.log(`caught InsufficientFunds: ${error.account} has ${error.balance}, wanted ${error.wanted}`);
      // Also a TaskError: which task failed, and the remote error rebuilt as `cause`.
      const task = error instanceof TaskError ? error.functionName : undefined;
      console.log(`  a TaskError too: ${task !== undefined}, task ${task}`);
      console.log(`  its cause chain: ${String((error.cause as Error).cause)}`);
      console.log(`  where it was thrown, then where it was awaited:\n${error.stack?.split("\n").slice(1, 4).join("\n")}`);
    } else {
      throw error;
    }
  }

  // A task whose argument failed does not run; it fails with the same error.
  const feeRef = m.fee.remote(m.pay.remote("bob", 99));
  await rt.get(feeRef).catch((error: unknown) => {
    console.log(`dependent task: ${error instanceof InsufficientFunds ? "failed with InsufficientFunds" : String(error)}`);
  });

  // Transient failures: retry on exceptions too (by default only worker crashes are retried).
  console.log(await rt.get(m.flakyQuote.options({ retryExceptions: true, maxRetries: 3 }).remote("USD")));
} finally {
  await rt.shutdown();
}
