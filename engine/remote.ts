// What users hold: remote functions, actor classes and actor handles. They only describe calls; the
// backend (the driver runtime, or a worker's runtime inside a task) submits them.
import { LoomError } from "./errors.js";
import type { ActorId } from "./ids.js";
import { ObjectRef, ACTOR_BRAND, ACTOR_OWNER, markActorHandle, type ActorHandleDescriptor } from "./refs.js";
import { checkTaskOptions, checkActorOptions, type TaskOptions, type ActorOptions } from "./options.js";

/** Where a function's code comes from: an export of a module, or the source of an inline function. */
export type FunctionDescriptor =
  | { kind: "module"; url: string; name: string }
  | { kind: "inline"; source: string; name: string };

export function functionKey(d: FunctionDescriptor): string {
  return d.kind === "module" ? `m:${d.url}#${d.name}` : `i:${d.source}`;
}

export interface Backend {
  submitTask(fn: FunctionDescriptor, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[];
  createActor(cls: FunctionDescriptor, methods: string[], args: unknown[], options: ActorOptions & TaskOptions): ActorHandle;
  submitActorCall(actor: ActorHandleDescriptor, method: string, args: unknown[], options: TaskOptions): ObjectRef | ObjectRef[];
  /** Imports a module for rt.module; a worker first waits for its TypeScript loader (see function-cache.ts). */
  importModule?(href: string): Promise<Record<string, unknown>>;
}

type RefsOf<R> = ObjectRef<Awaited<R>>;

export class RemoteFunction<F extends (...args: any[]) => any = (...args: any[]) => any> {
  constructor(
    private readonly backend: Backend,
    readonly descriptor: FunctionDescriptor,
    private readonly defaults: TaskOptions = {},
  ) {}

  /** Submits a call; returns its future at once (an array of futures when numReturns > 1). */
  remote(...args: RemoteArgs<Parameters<F>>): RefsOf<ReturnType<F>> {
    return this.backend.submitTask(this.descriptor, args, this.defaults) as RefsOf<ReturnType<F>>;
  }

  /** The same function with these options (merged over the current ones). */
  options(options: TaskOptions): RemoteFunction<F> & { remote(...args: RemoteArgs<Parameters<F>>): any } {
    return new RemoteFunction<F>(this.backend, this.descriptor, { ...this.defaults, ...checkTaskOptions(options) });
  }

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

export class ActorMethod<A extends unknown[] = unknown[], R = unknown> {
  constructor(
    private readonly backend: Backend,
    private readonly actor: ActorHandleDescriptor,
    readonly method: string,
    private readonly defaults: TaskOptions = {},
  ) {}
  /**
   * The handle this method came from: a method kept after its handle is dropped keeps the handle, and so the
   * actor, alive (an unnamed actor whose handles are all gone is terminated).
   */
  holder: object | undefined = undefined;
  remote(...args: RemoteArgs<A>): ObjectRef<Awaited<R>> {
    return this.backend.submitActorCall(this.actor, this.method, args, this.defaults) as ObjectRef<Awaited<R>>;
  }
  options(options: TaskOptions): ActorMethod<A, R> {
    const method = new ActorMethod<A, R>(this.backend, this.actor, this.method, { ...this.defaults, ...checkTaskOptions(options) });
    method.holder = this.holder;
    return method;
  }
}

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

export class ActorClass<C extends abstract new (...args: any) => any = abstract new (...args: any) => any> {
  constructor(
    private readonly backend: Backend,
    readonly descriptor: FunctionDescriptor,
    readonly methods: string[],
    private readonly defaults: ActorOptions & TaskOptions = {},
  ) {}
  /** Creates an actor; returns its handle at once. Constructor errors surface on its calls. */
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>> {
    return this.backend.createActor(this.descriptor, this.methods, args, this.defaults) as ActorHandle<InstanceType<C>>;
  }
  options(options: ActorOptions): ActorClass<C> {
    return new ActorClass<C>(this.backend, this.descriptor, this.methods, { ...this.defaults, ...checkActorOptions(options) });
  }
}

/** Wrappers for a module's exports: functions become remote functions, classes actor classes. */
export type ModuleWrappers<M> = {
  [K in keyof M as M[K] extends (...args: any[]) => any ? K : M[K] extends abstract new (...args: any) => any ? K : never]:
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
    mod = await (backend.importModule ? backend.importModule(href) : import(href));
  } catch (error) {
    throw new LoomError(`rt.module: cannot load ${href}: ${(error as Error).message}`, { cause: error });
  }
  const wrappers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(mod)) {
    if (isClass(value)) {
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

export function normalizeModuleUrl(url: URL | string): string {
  if (url instanceof URL) return url.href;
  if (typeof url !== "string" || url === "") throw new LoomError(`rt.module: expected a URL or path, got ${String(url)}`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  const { pathToFileURL } = processUrl;
  return pathToFileURL(url).href;
}

import * as processUrl from "node:url";
