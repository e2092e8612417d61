// A bank's tasks, with an error class of their own. Exported, so the driver (which loads this module with
// rt.module) can rebuild it: a task's InsufficientFunds reaches the caller as an InsufficientFunds.
export class InsufficientFunds extends Error {
  override name = "InsufficientFunds";
  constructor(readonly account: string, readonly balance: number, readonly wanted: number, options?: { cause?: unknown }) {
    super(`${account} holds ${balance}, cannot pay ${wanted}`, options);
  }
}

const balances: Record<string, number> = { alice: 120, bob: 15 };

export function pay(account: string, amount: number): number {
  const balance = balances[account] ?? 0;
  if (amount > balance) {
    throw new InsufficientFunds(account, balance, amount, { cause: new RangeError(`limit ${balance} exceeded`) });
  }
  return balance - amount;
}

export function fee(remaining: number): number {
  return Math.min(remaining, 2);
}

let calls = 0;
/** Fails the first two times it runs in a worker: a transient fault that retryExceptions rides out. */
export function flakyQuote(currency: string): string {
  calls++;
  if (calls < 3) throw new Error(`quote service busy (try ${calls})`);
  return `1 ${currency} = 0.92 EUR`;
}
