// A TypeScript task module (run under tsx): typed exports that the driver calls through rt.module.
import { current, TaskError } from "loom-dag";

export function add(a: number, b: number): number {
  return a + b;
}

export function split(x: number): [number, string] {
  return [x * 2, `#${x}`];
}

export async function doubleNested(n: number): Promise<number> {
  const m = await current().module<typeof import("./tasks.js")>(new URL("./tasks.ts", import.meta.url));
  return current().get(m.add.remote(n, n));
}

export class InsufficientFunds extends Error {
  constructor(readonly balance: number) {
    super(`balance ${balance} is too low`);
    this.name = "InsufficientFunds";
  }
}

export function withdraw(balance: number, amount: number): number {
  if (amount > balance) throw new InsufficientFunds(balance);
  return balance - amount;
}

export class Account {
  private balance: number;
  constructor(start: number) {
    this.balance = start;
  }
  deposit(amount: number): number {
    this.balance += amount;
    return this.balance;
  }
}

export const isTaskError = (e: unknown): boolean => e instanceof TaskError;
