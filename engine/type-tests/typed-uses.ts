// Typed uses of the public API, checked by `tsc --strict` and never run: each `Expect<Equal<...>>` fails the
// check if a type drifts, and each `@ts-expect-error` fails it if a misuse stops being an error.
import {
  TaskError, type ActorHandle, type LoomApi, type ModuleWrappers, type ObjectRef, type Runtime, current,
  type ObjectRefGenerator,
} from "loom-dag";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;

// A task module as `typeof import("./tasks.js")` gives it.
declare const tasks: {
  add(a: number, b: number): number;
  split(x: number): [number, string];
  three(): Promise<[boolean, number[], { label: string }]>;
  list(n: number): number[];
  label(x: number): Promise<string>;
  chunks(n: number): AsyncGenerator<Float64Array>;
  count(n: number): Generator<number>;
  Counter: new (start: number) => { inc(by: number): number; pair(): [number, number]; reset(): void };
  InsufficientFunds: new (balance: number) => Error & { balance: number };
};
declare const rt: Runtime;
declare const m: ModuleWrappers<typeof tasks>;

export async function typedUses(): Promise<void> {
  // remote: one ref, typed from the return (promises unwrapped); refs accepted where values are.
  const one = m.add.remote(1, 2);
  type _one = Expect<Equal<typeof one, ObjectRef<number>>>;
  const chained = m.add.remote(one, m.add.remote(3, 4));
  const text = m.label.remote(chained);
  type _text = Expect<Equal<typeof text, ObjectRef<string>>>;
  // @ts-expect-error: a string where a number is expected
  m.add.remote("1", 2);

  // numReturns: "streaming" gives an ObjectRefGenerator typed from the generator's yields; cancel takes it.
  const gen = m.chunks.options({ numReturns: "streaming" }).remote(3);
  type _gen = Expect<Equal<typeof gen, ObjectRefGenerator<Float64Array>>>;
  for await (const ref of gen) {
    type _ref = Expect<Equal<typeof ref, ObjectRef<Float64Array>>>;
  }
  const counted = m.count.options({ numReturns: "streaming", generatorBackpressure: 2 }).remote(3);
  type _counted = Expect<Equal<typeof counted, ObjectRefGenerator<number>>>;
  rt.cancel(counted);

  // numReturns: n gives a tuple of n refs typed from the function's tuple return.
  const [doubled, label] = m.split.options({ numReturns: 2 }).remote(21);
  type _split = Expect<Equal<[typeof doubled, typeof label], [ObjectRef<number>, ObjectRef<string>]>>;
  const triple = m.three.options({ numReturns: 3, maxRetries: 1 }).options({ retryExceptions: true }).remote();
  type _triple = Expect<Equal<typeof triple, [ObjectRef<boolean>, ObjectRef<number[]>, ObjectRef<{ label: string }>]>>;
  const fromArray = m.list.options({ numReturns: 2 }).remote(2);
  type _fromArray = Expect<Equal<typeof fromArray, [ObjectRef<number>, ObjectRef<number>]>>;
  const single = m.split.options({ numReturns: 1 }).remote(1);
  type _single = Expect<Equal<typeof single, ObjectRef<[number, string]>>>;
  // @ts-expect-error: options are checked (TS2353)
  m.add.options({ numReturn: 2 });

  // get keeps element types, for one ref, a literal list (a tuple) and an array.
  const sum: number = await rt.get(one);
  const [n, s] = await rt.get([doubled, label]);
  type _pair = Expect<Equal<[typeof n, typeof s], [number, string]>>;
  const all = await rt.get([one, chained, doubled]);
  type _all = Expect<Equal<typeof all, [number, number, number]>>;
  const refs: ObjectRef<number>[] = [one, chained];
  const values = await rt.get(refs, { timeoutMs: 1_000 });
  type _values = Expect<Equal<typeof values, number[]>>;
  // @ts-expect-error: unknown get option
  await rt.get(one, { timeout: 5 });

  // wait keeps the refs' types, and get of its lists too.
  const { ready, pending } = await rt.wait(refs, { numReturns: 1, timeoutMs: 100 });
  type _ready = Expect<Equal<typeof ready, ObjectRef<number>[]>>;
  type _pending = Expect<Equal<typeof pending, ObjectRef<number>[]>>;
  const readyValues = await rt.get(ready);
  type _readyValues = Expect<Equal<typeof readyValues, number[]>>;
  const mixed = await rt.wait([doubled, label]);
  const mixedValues = await rt.get(mixed.ready);
  type _mixed = Expect<Equal<typeof mixedValues, (number | string)[]>>;
  // @ts-expect-error: unknown wait option
  await rt.wait(refs, { num_returns: 1 });

  // Actors: methods typed from the class; numReturns on methods too.
  const counter = m.Counter.options({ maxRestarts: 1 }).remote(10);
  type _handle = Expect<Equal<typeof counter, ActorHandle<{ inc(by: number): number; pair(): [number, number]; reset(): void }>>>;
  const count = counter.inc.remote(5);
  type _count = Expect<Equal<typeof count, ObjectRef<number>>>;
  const [lo, hi] = counter.pair.options({ numReturns: 2 }).remote();
  type _lohi = Expect<Equal<[typeof lo, typeof hi], [ObjectRef<number>, ObjectRef<number>]>>;
  // @ts-expect-error: no such method
  counter.dec.remote(1);
  // @ts-expect-error: an exported Error subclass is an error class, not an actor class
  m.InsufficientFunds.remote(5);

  // Inline functions keep their types; put gives a typed ref.
  const square = rt.remote(function square(x: number) { return x * x; });
  const squared = square.remote(rt.put(7));
  type _squared = Expect<Equal<typeof squared, ObjectRef<number>>>;

  // current() is the API every thread has; the driver-only parts are on Runtime.
  const api: LoomApi = current();
  // @ts-expect-error: shutdown is the driver's, not on current()
  api.shutdown();
  // @ts-expect-error: the engine's internals are not on the public type
  rt.submitTask;
  // @ts-expect-error: the engine's internals are not on the public type
  rt.recover;
  // @ts-expect-error: the engine's internals are not on the public type
  rt.trackRef;

  try {
    await rt.get(m.add.remote(1, 2));
  } catch (error) {
    if (error instanceof TaskError) {
      const fields: [string, string, string] = [error.taskId, error.functionName, error.remoteName];
      void fields;
    }
  }
  void [sum, n, s];
}
