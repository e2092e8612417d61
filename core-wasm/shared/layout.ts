// Memory map constants shared by the AssemblyScript core and the TypeScript engine.
// Plain integer consts only: this file is compiled by both asc and tsc, so both sides agree by construction.
// The box diagrams that explain these numbers live in core-wasm/README.md.

/** Where the control block starts; below it sits the (unused) AssemblyScript static area. */
export const CORE_BASE = 65536;
/** Bytes of the control block: region offsets, capacities and the hot counters, each on its own cache line. */
export const CONTROL_BYTES = 1024;
export const CACHE_LINE = 64;

// Control block fields (byte offsets from CORE_BASE).
export const CTL_MAGIC = 0;
export const CTL_READY_QUEUE = 4;      // address of the ready queue header
export const CTL_DONE_QUEUE = 8;       // address of the done queue header
export const CTL_TASK_TABLE = 12;      // address of task slot 0
export const CTL_TASK_SLOTS = 16;      // number of task slots
export const CTL_OBJECT_TABLE = 20;    // address of object entry 0
export const CTL_OBJECT_MASK = 24;     // object table capacity - 1 (capacity is a power of two)
export const CTL_ARENA_START = 28;     // first byte of the arena
export const CTL_ARENA_END = 32;       // one past the last byte of the arena
export const CTL_ADMIT_QUEUE = 36;     // address of the admission queue header (tasks the driver must place)
export const CTL_FREE_LISTS = 40;      // address of the arena's free-list heads (one 8-byte tagged head per class)
export const CTL_WORKER_TABLE = 44;    // address of worker record 0 (one WORKER_BYTES line per worker index)
export const CTL_WORKER_SLOTS = 48;    // number of worker records: worker indexes at or above it are not recorded
export const CTL_ARENA_BUMP = 128;     // next never-used arena byte (atomic bump), own cache line
export const CTL_ARENA_USED = 192;     // bytes currently handed out by the arena (atomic), own cache line
export const CTL_READY_SEQ = 256;      // bumped on every push to a ready queue; idle workers park on it
export const CTL_IDLE_WORKERS = 320;   // workers parked on CTL_READY_SEQ (pushers notify only when > 0)
export const CTL_DONE_SEQ = 384;       // bumped on every push to the done queue; the driver parks on it
export const CTL_DRIVER_PARKED = 448;  // 1 while the driver waits on CTL_DONE_SEQ
export const CTL_EPOCH = 512;         // the driver's start time (ms since the Unix epoch, f64), for task timings
export const CTL_OBJECT_OCCUPIED = 576; // object entries not KEY_EMPTY (live + tombstones); driver only, own cache line
export const CTL_CRASH_ARMED = 640;   // crash points with crashes left to fire (0: no thread need look), own cache line
export const CTL_CRASH_LEFT = 704;    // per crash point: crashes left to fire (i32 each, CRASH_POINTS of them)
export const CTL_CRASH_FIRED = 736;   // crashes fired since the last arming
export const CTL_CRASH_LOG = 768;     // task id (lo, hi i32) of each fired crash, up to CRASH_LOG_ENTRIES
export const CRASH_POINTS = 6;
export const CRASH_LOG_ENTRIES = 30;
export const CORE_MAGIC = 0x4c4f4f4d;  // "LOOM"

// Worker record: what a worker thread is in the middle of, in shared memory, so that the driver can undo it
// when the thread dies (WorkerProtocol.onWorkerExit -> workerReclaim). Written only by its worker while the
// thread lives (the driver clears fields it took over with a CAS), read by the driver after the thread is dead.
export const WORKER_BYTES = 64;      // one cache line per worker: each writes its own on every park and seal
export const WORKER_PARKED = 0;      // 1 while this worker is counted in CTL_IDLE_WORKERS
export const WORKER_BLOCK = 4;       // arena payload it allocated and has not handed over (sealed, posted, held), or 0
export const WORKER_HELD = 8;        // arena list of blocks held for seals deferred to its "done" message, or 0
export const WORKER_MOVE_SLOT = 12;  // task slot + 1 it is pushing (its state already says queued), or 0
export const WORKER_MOVE_QUEUE = 16; // the queue that push goes to
export const WORKER_WALK = 20;       // the first waiter edge of an object it sealed that it has not released yet, or 0
export const WORKER_CARVE = 24;      // the arena block being made into its held list, while that allocation runs, or 0
// A held list: [count i32][block i32 × capacity], capacity from the list block's own size.
export const HELD_COUNT = 0;
export const HELD_BLOCKS = 4;

// Bounded MPMC ring (Vyukov): a header of two cache lines (enqueue position, dequeue position, mask), then cells.
export const QUEUE_ENQ = 0;
export const QUEUE_DEQ = 64;
export const QUEUE_MASK = 128;
export const QUEUE_HEADER_BYTES = 192;
export const QUEUE_CELL_BYTES = 8;     // [sequence i32][value i32]

// Task slot: the fixed part of a task spec, enough for a worker to start it from shared memory alone.
export const TASK_BYTES = 64;
export const TASK_STATE = 0;        // TASK_* state code
export const TASK_DEPS = 4;         // unresolved arguments + 1 while arming
export const TASK_WORKER = 8;       // worker index running it, -1 when none
export const TASK_ATTEMPT = 12;     // 0 on the first run
export const TASK_ID_LO = 16;       // task id, low 32 bits
export const TASK_ID_HI = 20;       // task id, high bits
export const TASK_PAYLOAD = 24;     // arena address of the encoded spec (function, arguments, options)
export const TASK_PAYLOAD_LEN = 28;
export const TASK_RETURNS = 32;     // number of return objects
export const TASK_TARGET = 36;      // which queue releases it: TARGET_READY or TARGET_ADMIT
export const TASK_EDGES = 40;       // arena address of its waiter edges (one per unresolved argument)
export const TASK_OUTCOME = 44;     // OUTCOME_* written by the worker before it reports the slot done
export const TASK_GENERATION = 48;  // bumped each time the slot is reused, so stale reports can be told apart
export const TASK_STARTED = 52;     // when a worker started it: 10 µs units after the driver's epoch (CTL_EPOCH)
export const TASK_RUN = 56;         // which run of the task this is: its children's ids derive from it (a retry is a new run)

export const TASK_FREE = 0;
export const TASK_PENDING = 1;      // waiting for arguments
export const TASK_READY = 2;        // in a queue
export const TASK_RUNNING = 3;
export const TASK_DONE = 4;
export const TASK_CANCELLED = 5;

export const TARGET_READY = 0;
export const TARGET_ADMIT = 1;

export const OUTCOME_NONE = 0;
export const OUTCOME_OK = 1;        // returns sealed with values
export const OUTCOME_FAILED = 2;    // returns sealed with the error
export const OUTCOME_RETRY = 3;     // threw, and the driver should retry it
export const OUTCOME_SKIPPED = 4;   // popped after it was cancelled; never ran

// Object entry: one row of the object table (open addressing, linear probing, keyed by the 64-bit object id).
export const OBJ_BYTES = 32;
export const OBJ_KEY = 0;           // KEY_* slot state
export const OBJ_ID_LO = 4;
export const OBJ_ID_HI = 8;
export const OBJ_STATE = 12;        // OBJ_* object state
export const OBJ_WAITERS = 16;      // head of the waiter edge list; WAITERS_CLOSED once sealed
export const OBJ_LOCATION = 20;     // arena address, or segment number when OBJ_FLAGS has FLAG_SEGMENT
export const OBJ_SIZE = 24;         // payload bytes
export const OBJ_FLAGS = 28;        // FLAG_* bits

export const KEY_EMPTY = 0;
export const KEY_USED = 1;
export const KEY_TOMBSTONE = 2;

export const OBJ_PENDING = 1;       // registered, value not written yet
export const OBJ_SEALED = 2;        // value written, immutable
export const OBJ_SPILLED = 3;       // value lives in a spill file
export const OBJ_LOST = 4;          // value dropped (evicted, or its holder died)
export const OBJ_SEALING = 5;       // one thread won the right to seal and is writing the location

export const FLAG_ERROR = 1;        // the value is an encoded error (the creating task failed)
export const FLAG_SEGMENT = 2;      // the payload lives in a separate SharedArrayBuffer segment
export const FLAG_INLINE = 4;       // the payload is held by the driver (no arena memory)

export const WAITERS_CLOSED = -1;

// Waiter edge: links a pending task into an object's waiter list.
export const EDGE_BYTES = 8;        // [next edge address i32][task slot i32]

// Arena: power-of-two size classes from 2^ARENA_MIN_SHIFT to 2^ARENA_MAX_SHIFT bytes, each block with a header.
export const ARENA_MIN_SHIFT = 5;
export const ARENA_MAX_SHIFT = 20;
export const ARENA_CLASSES = 16;
export const BLOCK_HEADER = 8;      // [size class i32][requested bytes i32]
export const ARENA_ALIGN = 8;
