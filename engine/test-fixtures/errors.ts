// Tasks that fail in the ways a user's code does: its own error classes with fields and causes, built-in errors,
// thrown non-Errors, and deaths of the worker thread (an exit code, an error escaping the task).

/** A user's error class with a field of its own; exported, so the driver can rebuild it. */
export class InsufficientFunds extends Error {
  readonly balance: number;
  constructor(balance: number, options?: { cause?: unknown }) {
    super(`balance ${balance} is too low`, options);
    this.name = "InsufficientFunds";
    this.balance = balance;
  }
}

/** Not exported: the driver cannot know it, so its errors come back as plain TaskErrors. */
class PrivateProblem extends Error {
  override name = "PrivateProblem";
  readonly detail = "kept";
}

export function withdraw(balance: number, amount: number): number {
  if (amount > balance) {
    const ioFailure = Object.assign(new Error("ledger unreachable"), { code: "ELEDGER" });
    throw new InsufficientFunds(balance, { cause: new TypeError("limit check failed", { cause: ioFailure }) });
  }
  return balance - amount;
}

export function badRange(): never {
  throw new RangeError("out of range");
}

export function privateProblem(): never {
  throw new PrivateProblem("hidden class");
}

export function throwValue(kind: string): never {
  if (kind === "string") throw "plain string";
  if (kind === "big") throw { rows: Array.from({ length: 1000 }, (_, i) => ({ i, text: "x".repeat(50) })) };
  throw { code: 42, why: "an object", fn: () => 1 };
}

export function exitWith(code: number): void {
  process.exit(code);
}

export function escape(message: string): Promise<never> {
  setTimeout(() => { throw new SyntaxError(message); }, 0);
  return new Promise(() => {});
}

export class Vault {
  private amount = 10;
  take(n: number): number {
    if (n > this.amount) throw new InsufficientFunds(this.amount);
    this.amount -= n;
    return this.amount;
  }
}
