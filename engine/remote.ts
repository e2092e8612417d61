// What users hold: remote functions, actor classes and actor handles. They only describe calls; the
// backend (the driver runtime, or a worker's runtime inside a task) submits them.
import { LoomError, isErrorClass, registerErrorClass } from "./errors.js";
import type { ActorId } from "./ids.js";
import { ObjectRef, ACTOR_BRAND, ACTOR_OWNER, markActorHandle, type ActorHandleDescriptor } from "./refs.js";
import { checkTaskOptions, checkActorOptions, type TaskOptions, type ActorOptions } from "./options.js";
import type { ObjectRefGenerator } from "./streaming/object-ref-generator.js";

/** Where a function's code comes from: an export of a module, or the source of an inline function. */
export type FunctionDescriptor =
  | { kind: "module"; url: string; name: string }
  | { kind: "inline"; source: string; name: string };

export function functionKey(d: FunctionDescriptor): string {
  return d.kind === "module" ? `m:${d.url}#${d.name}` : `i:${d.source}`;
}

export interface Backend {
  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator;
  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle;
  submitActorCall(actor: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[] | ObjectRefGenerator;
  /** Imports a module for rt.module; a worker first waits for its TypeScript loader (see function-cache.ts). */
  importModule?(href: string): Promise<Record<string, unknown>>;
}

/**
 * What `.remote()` returns: one ref, or with `numReturns: n` (n > 1) a tuple of n refs typed from the function's
 * tuple return (`[number, string]` gives `[ObjectRef<number>, ObjectRef<string>]`), or with
 * `numReturns: "streaming"` an ObjectRefGenerator typed from the generator's yields.
 */
export type RemoteResult<R, N extends ReturnsOption = undefined> =
  N extends "streaming" ? ObjectRefGenerator<YieldOf<R>>
  : N extends undefined | 1 ? ObjectRef<Awaited<R>>
  : number extends N ? ObjectRef<Awaited<R>> | ObjectRef<unknown>[]
  : RefsOf<Awaited<R>, N & number>;

/** The `numReturns` option as the type system tracks it. */
export type ReturnsOption = number | "streaming" | undefined;

/** What a (sync or async) generator yields. */
export type YieldOf<R> = R extends Generator<infer Y, any, any> ? Y : R extends AsyncGenerator<infer Y, any, any> ? Y : unknown;

type RefsOf<V, N extends number> = V extends readonly unknown[]
  ? number extends V["length"] ? TupleOf<ObjectRef<V[number]>, N> : { -readonly [K in keyof V]: ObjectRef<V[K]> }
  : TupleOf<ObjectRef<unknown>, N>;

type TupleOf<T, N extends number, Acc extends T[] = []> = Acc["length"] extends N ? Acc : TupleOf<T, N, [...Acc, T]>;

/**
 * A function that runs as a task: `.remote(...args)` submits a call and returns its future at once. Made by
 * `rt.remote(fn)` for inline functions and by `rt.module(url)` for a module's exported functions.
 */
export class RemoteFunction<F extends (...args: any[]) => any = (...args: any[]) => any, N extends ReturnsOption = undefined> {
  /** @internal */
  constructor(
    private readonly backend: Backend,
    /** @internal */
    readonly descriptor: FunctionDescriptor,
    private readonly defaults: TaskOptions = {},
  ) {}

  /**
   * Submits a call; returns its future at once (a tuple of futures with `numReturns` n > 1). Arguments may be
   * values or refs; a ref given as an argument is resolved to its value before the task runs.
   * @example
   * const a = m.add.remote(1, 2);   // ObjectRef<number>
   * const b = m.add.remote(a, 3);   // runs once a is ready
   * await rt.get(b);                // 6
   */
  remote(...args: RemoteArgs<Parameters<F>>): RemoteResult<ReturnType<F>, N> {
    return this.backend.submitTask(this.descriptor, args, this.defaults) as RemoteResult<ReturnType<F>, N>;
  }

  /**
   * The same function with these options (merged over its current ones): `numReturns`, `maxRetries`,
   * `retryExceptions`, `resources`, `name`. An unknown or invalid option throws a `LoomError` at once.
   * @example
   * const [min, max] = m.range.options({ numReturns: 2 }).remote(values); // range returns [number, number]
   * m.flaky.options({ maxRetries: 5, retryExceptions: true }).remote();
   */
  options<const M extends number | "streaming">(options: TaskOptions & { numReturns: M }): RemoteFunction<F, M>;
  options(options: TaskOptions & { numReturns?: undefined }): RemoteFunction<F, N>;
  options(options: TaskOptions): RemoteFunction<F, number>;
  options(options: TaskOptions): RemoteFunction<F, any> {
    return new RemoteFunction<F, any>(this.backend, this.descriptor, merged(this.defaults, checkTaskOptions(options)));
  }

  /** The name the task has in errors, events and the graph: the function's (or export's) name. */
  get functionName(): string {
    return this.descriptor.name;
  }
}

/** Arguments may be given as values or as futures of those values. */
export type RemoteArgs<P extends unknown[]> = { [K in keyof P]: P[K] | ObjectRef<P[K]> };

type Methods<T> = {
  [K in keyof T as T[K] extends (...args: any[]) => any ? K : never]: T[K] extends (...args: infer A) => infer R
    ? ActorMethod<A, R>
    : never;
};

/** One method of an actor handle: `.remote(...args)` queues a call on the actor and returns its future. */
export class ActorMethod<A extends unknown[] = unknown[], R = unknown, N extends ReturnsOption = undefined> {
  /** @internal */
  constructor(
    private readonly backend: Backend,
    private readonly actor: ActorHandleDescriptor,
    readonly method: string,
    private readonly defaults: TaskOptions = {},
  ) {}
  /**
   * The handle this method came from: a method kept after its handle is dropped keeps the handle, and so the
   * actor, alive (an unnamed actor whose handles are all gone is terminated).
   * @internal
   */
  holder: object | undefined = undefined;

  /**
   * Queues a call; calls on one actor run one at a time, in the order each caller submitted them.
   * @example
   * const counter = m.Counter.remote(10);
   * counter.inc.remote(1);
   * await rt.get(counter.inc.remote(5)); // 16
   */
  remote(...args: RemoteArgs<A>): RemoteResult<R, N> {
    return this.backend.submitActorCall(this.actor, this.method, args, this.defaults) as RemoteResult<R, N>;
  }

  /**
   * The same method with these options for its calls (`numReturns`, `maxRetries`, `timeoutMs`, ...).
   * @example
   * const [mean, count] = stats.summary.options({ numReturns: 2 }).remote();
   */
  options<const M extends number | "streaming">(options: TaskOptions & { numReturns: M }): ActorMethod<A, R, M>;
  options(options: TaskOptions & { numReturns?: undefined }): ActorMethod<A, R, N>;
  options(options: TaskOptions): ActorMethod<A, R, number>;
  options(options: TaskOptions): ActorMethod<A, R, any> {
    const method = new ActorMethod<A, R, any>(this.backend, this.actor, this.method, merged(this.defaults, checkTaskOptions(options)));
    method.holder = this.holder;
    return method;
  }
}

/**
 * What callers hold for an actor: one {@link ActorMethod} per method of its class, and its id. Handles can be
 * passed to tasks and other actors, returned from tasks and stored in objects.
 */
export type ActorHandle<T = any> = Methods<T> & { readonly [ACTOR_BRAND]: ActorHandleDescriptor; readonly actorId: ActorId };

/** Builds the handle object: one ActorMethod per method name, plus the brand that serializes it. */
export function makeActorHandle<T>(backend: Backend, descriptor: ActorHandleDescriptor): ActorHandle<T> {
  const handle: Record<string | symbol, unknown> = {};
  for (const method of descriptor.methods) handle[method] = new ActorMethod(backend, descriptor, method);
  Object.defineProperty(handle, ACTOR_BRAND, { value: descriptor, enumerable: false });
  Object.defineProperty(handle, ACTOR_OWNER, { value: backend, enumerable: false });
  Object.defineProperty(handle, "actorId", { value: descriptor.actorId, enumerable: false });
  const proxy = markActorHandle(new Proxy(handle, {
    get(target, key) {
      if (key in target) return target[key];
      if (typeof key === "string" && key !== "then" && key !== "toJSON" && key !== "constructor" && !key.startsWith("__")) {
        throw new LoomError(`actor ${descriptor.className} has no method ${JSON.stringify(key)}; its methods: ${descriptor.methods.join(", ")}`);
      }
      return undefined;
    },
  })) as unknown as ActorHandle<T>;
  for (const method of descriptor.methods) (handle[method] as ActorMethod).holder = proxy;
  return proxy;
}

/** A class exported by a module loaded with `rt.module`: `.remote(...args)` creates an actor of it. */
export class ActorClass<C extends abstract new (...args: any) => any = abstract new (...args: any) => any> {
  /** @internal */
  constructor(
    private readonly backend: Backend,
    /** @internal */
    readonly descriptor: FunctionDescriptor,
    /** The names of the class's methods, which the handle offers. */
    readonly methods: string[],
    private readonly defaults: ActorOptions & TaskOptions = {},
  ) {}

  /**
   * Creates an actor with these constructor arguments; returns its handle at once. A constructor that throws
   * makes the actor's calls reject with that error.
   * @example
   * const counter = m.Counter.remote(10);
   * await rt.get(counter.inc.remote(5)); // 15
   */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    return this.backend.createActor(this.descriptor, this.methods, args, this.defaults) as ActorHandle<InstanceType<C>>;
  }

  /**
   * The same class with these actor options: `maxRestarts`, `maxTaskRetries`, `checkpointEvery`, `name`,
   * `resources`.
   * @example
   * const counter = m.Counter.options({ maxRestarts: 2, name: "counter" }).remote(0);
   */
  options(options: ActorOptions): ActorClass<C> {
    return new ActorClass<C>(this.backend, this.descriptor, this.methods, merged(this.defaults, checkActorOptions(options)));
  }
}

/**
 * Wrappers for a module's exports: functions become remote functions, classes actor classes. An exported Error
 * subclass is neither: it is an error class, which tasks throw and callers catch.
 */
export type ModuleWrappers<M> = {
  [K in keyof M as M[K] extends abstract new (...args: any) => infer I ? (I extends Error ? never : K)
    : M[K] extends (...args: any[]) => any ? K : never]:
    M[K] extends abstract new (...args: any) => any ? ActorClass<M[K]>
    : M[K] extends (...args: any[]) => any ? RemoteFunction<M[K]> : never;
};

export function isClass(value: unknown): value is new (...args: unknown[]) => unknown {
  return typeof value === "function" && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

export function methodNames(cls: new (...args: unknown[]) => unknown): string[] {
  const names = new Set<string>();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor") continue;
      const d = Object.getOwnPropertyDescriptor(proto, key);
      if (d && typeof d.value === "function") names.add(key);
    }
  }
  return [...names];
}

/** Loads a module and wraps its exports (used by the driver and by workers alike). */
export async function wrapModule(backend: Backend, url: URL | string): Promise<Record<string, unknown>> {
  const href = normalizeModuleUrl(url);
  let mod: Record<string, unknown>;
  try {
    mod = await (backend.importModule ? backend.importModule(href) : importInDriver(href));
  } catch (error) {
    throw new LoomError(`rt.module: cannot load ${href}: ${(error as Error).message}`, { cause: error });
  }
  const wrappers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(mod)) {
    if (isErrorClass(value)) {
      registerErrorClass(value);
    } else if (isClass(value)) {
      wrappers[name] = new ActorClass(backend, { kind: "module", url: href, name }, methodNames(value));
    } else if (typeof value === "function") {
      wrappers[name] = new RemoteFunction(backend, { kind: "module", url: href, name });
    }
  }
  return new Proxy(wrappers, {
    get(target, key) {
      if (typeof key === "string" && !(key in target) && key !== "then" && key !== "toJSON") {
        throw new LoomError(`module ${href} has no exported function or class ${JSON.stringify(key)}; it exports: ${Object.keys(target).join(", ") || "(nothing callable)"}`);
      }
      return target[key as string];
    },
  });
}

/**
 * A .ts module in a driver started without a TypeScript loader: register tsx's and import again. Node keeps a
 * failed import per URL, so the second import asks for the same file under a query of its own.
 */
async function importInDriver(href: string): Promise<Record<string, unknown>> {
  try {
    return (await import(href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
    const { ensureTypeScriptLoader } = await import("./worker/function-cache.js");
    await ensureTypeScriptLoader(href);
    const retry = new URL(href);
    retry.searchParams.set("loom-ts", "1");
    return (await import(retry.href)) as Record<string, unknown>;
  }
}

export function normalizeModuleUrl(url: URL | string): string {
  if (url instanceof URL) return url.href;
  if (typeof url !== "string" || url === "") throw new LoomError(`rt.module: expected a URL or path, got ${String(url)}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  const { pathToFileURL } = processUrl;
  return pathToFileURL(url).href;
}

import * as processUrl from "node:url";
import { merged } from "./merged.js";
