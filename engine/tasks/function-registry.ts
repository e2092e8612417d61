// Function and class definitions by id: each is sent to every thread once, before a task can name it.
import { functionKey, type FunctionDescriptor } from "../remote.js";
import type { DriverContext } from "../runtime/driver-context.js";

/** What FunctionRegistry reaches in the driver: its arrows in engine/README.md. */
export type FunctionRegistryDeps = Pick<DriverContext, "transport">;

export class FunctionRegistry {
  constructor(private readonly d: FunctionRegistryDeps) {}

  private readonly functionIds = new Map<string, number>();
  private readonly functionIdOf = new WeakMap<FunctionDescriptor, number>();
  readonly functionList: FunctionDescriptor[] = [];

  functionId(fn: FunctionDescriptor): number {
    // By descriptor first: a remote function keeps one descriptor, and building the key costs a string per call.
    const known = this.functionIdOf.get(fn);
    if (known !== undefined) return known;
    const key = functionKey(fn);
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functionList.length;
      this.functionList.push(fn);
      this.functionIds.set(key, id);
      this.d.transport.broadcast({ t: "fn", id, fn });
    }
    this.functionIdOf.set(fn, id);
    return id;
  }
}
