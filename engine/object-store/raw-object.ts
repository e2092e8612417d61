// An object as bytes (see raw-objects.ts): kept apart from the code that reads and writes the store, so that
// the public types that name it do not reach the driver's internals.
export interface RawObject {
  /** FLAG_ERROR when the object holds a task's failure; FLAG_SEGMENT when its payload had a segment of its own. */
  flags: number;
  bytes: Uint8Array;
  /** Whether the value holds refs (they name objects of the process that wrote it). */
  hasRefs: boolean;
}
