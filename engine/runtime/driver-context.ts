// The wiring of the driver's owners: the shared core, store and transport, and each owner by its job. The
// runtime builds one at init; an owner reaches the others only through it. Who calls whom is drawn in
// engine/README.md.
import type { Core } from "../wasm/core.js";
import type { ObjectStore } from "../object-store/object-store.js";
import type { SpillManager } from "../object-store/spill-manager.js";
import type { ImmutabilityChecker } from "../object-store/immutability-checker.js";
import type { DriverTransport } from "../transport/driver-transport.js";
import type { EventSink } from "../graph/event-sink.js";
import type { GraphRecorder } from "../graph/graph-recorder.js";
import type { TaskManager } from "../tasks/task-manager.js";
import type { FunctionRegistry } from "../tasks/function-registry.js";
import type { ArgumentEncoder } from "../tasks/argument-encoder.js";
import type { ReferenceCounter } from "../refs/reference-counter.js";
import type { ObjectDirectory } from "../object-store/object-directory.js";
import type { SealWaiters } from "../object-store/seal-waiters.js";
import type { ObjectReader } from "../object-store/object-reader.js";
import type { RecoveryManager } from "../lineage/recovery-manager.js";
import type { ActorManager } from "../actors/actor-manager.js";
import type { ResourceLedger } from "../scheduler/resource-ledger.js";
import type { TaskDispatcher } from "../scheduler/task-dispatcher.js";
import type { ParkWake } from "../scheduler/park-wake.js";
import type { WorkerProtocol } from "./worker-protocol.js";
import type { StreamTable } from "../streaming/stream-table.js";
import type { CrashControl } from "./crash-control.js";
import type { Runtime, Faults } from "./runtime.js";
import type { ClusterScheduler } from "../cluster/cluster-scheduler.js";

export interface DriverContext {
  /** The facade: the owner that refs, actor handles and encoded values made in the driver name. */
  readonly runtime: Runtime;
  readonly core: Core;
  readonly i32: Int32Array;
  readonly store: ObjectStore;
  readonly spill: SpillManager;
  readonly transport: DriverTransport;
  readonly events: EventSink;
  /** Only with checkImmutable. */
  readonly immutability: ImmutabilityChecker | undefined;
  readonly crashes: CrashControl;
  readonly faults: Faults;
  readonly workerCount: number;
  readonly objectStoreBytes: number;
  /** performance.now() at init: graph times count from it. */
  readonly startTime: number;
  /** Set once by shutdown(). */
  closed: boolean;

  readonly graph: GraphRecorder;
  readonly resources: ResourceLedger;
  readonly functions: FunctionRegistry;
  readonly args: ArgumentEncoder;
  readonly tasks: TaskManager;
  readonly refs: ReferenceCounter;
  readonly objects: ObjectDirectory;
  readonly waiters: SealWaiters;
  readonly reader: ObjectReader;
  readonly recovery: RecoveryManager;
  readonly actors: ActorManager;
  readonly dispatcher: TaskDispatcher;
  readonly parkWake: ParkWake;
  readonly protocol: WorkerProtocol;
  /** Streaming generators, and the generator that made each yielded object (its producer for lineage). */
  readonly streams: StreamTable;
  /** Set when this driver joined a cluster (init({ address })): where tasks and actors run across nodes. */
  cluster: ClusterScheduler | undefined;
}
