// Encodes the arguments of calls the driver makes: payloads stay in the driver (lineage); big values are put
// first; SharedArrayBuffers are shared with every thread under a key while a task that names them may run.
import { encodeArgs, PayloadSlab, type EncodedArgs } from "../serialization/arg-codec.js";
import type { EncodedValue } from "../serialization/value-codec.js";
import { DRIVER_TASK_ID } from "../ids.js";
import { ObjectRef } from "../refs.js";
import type { DriverContext } from "../runtime/driver-context.js";

/** What ArgumentEncoder reaches in the driver: its arrows in engine/README.md. */
export type ArgumentEncoderDeps = Pick<DriverContext, "objects" | "runtime" | "transport">;

export class ArgumentEncoder {
  constructor(private readonly d: ArgumentEncoderDeps) {}

  /** Task payloads stay in the driver (lineage), never posted: small ones share chunks. */
  private readonly payloads = new PayloadSlab();
  /** Encodes the arguments of a call the driver makes; big ones are put first (see arg-codec). */
  encodeArgs(args: unknown[]): EncodedArgs & { sharedKey?: number } {
    const shared = this.sharedScratch;
    const encoded: EncodedArgs & { sharedKey?: number } = encodeArgs(args, this.putBigArgument, this.payloads.alloc, this.d.runtime, shared);
    if (shared.buffers.length) {
      encoded.sharedKey = this.share(shared.key, shared.buffers);
      this.sharedScratch = { key: shared.key + 1, buffers: [] };
    }
    return encoded;
  }

  /**
   * SharedArrayBuffers in a call's arguments are shared with the task, as postMessage shares them: every thread
   * gets them by message before the task can run, under the key its payload names. The driver's keys count up
   * from 1; a task submitted in a worker names its own id (above 2^45, so never one of the driver's).
   */
  share(key: number, buffers: SharedArrayBuffer[]): number {
    this.sharedBuffers.set(key, buffers);
    this.d.transport.broadcast({ t: "shared", key, buffers });
    return key;
  }

  /** Reused while no argument list holds a SharedArrayBuffer (nearly always): no allocation per call. */
  private sharedScratch: { key: number; buffers: SharedArrayBuffer[] } = { key: 1, buffers: [] };
  /** Shared argument buffers by key, while the task that names them may still run (its lineage lives). */
  readonly sharedBuffers = new Map<number, SharedArrayBuffer[]>();
  private readonly putBigArgument = (encoded: EncodedValue): ObjectRef => this.d.objects.putEncodedFor(DRIVER_TASK_ID, encoded);
}
