// Exits its thread (code 3) on the first `exits` calls counted on the shared counter, then answers "ran".
export default function exitFirst({ counter, exits }: { counter: Int32Array; exits: number }): string {
  if (Atomics.add(counter, 0, 1) < exits) process.exit(3);
  return "ran";
}
