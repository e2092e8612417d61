// An object as bytes (see raw-objects.ts): kept apart from the code that reads and writes the store, so that
// the public types that name it do not reach the driver's internals.
export interface RawObject {
  /** FLAG_ERROR when the object holds a task's failure; FLAG_SEGMENT when its payload had a segment of its own. */
  flags: number;
  bytes: Uint8Array;
  /** Whether the value holds refs (they name objects of the process that wrote it). */
  hasRefs: boolean;
  /**
   * For a value that holds refs: where each object it names can be pulled from, by the id the value names it
   * with (the writer's numbering). A reader pulls those first and gives the value refs of its own.
   */
  contains?: ContainedSource[];
}

/** One object a pulled value names: its id in the value, and the key and address to pull it from. */
export interface ContainedSource { id: number; key: string; from: string }
