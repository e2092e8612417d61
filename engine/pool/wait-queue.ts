// A FIFO of tasks waiting for a thread: O(1) push and shift (an array read from a head index, compacted
// once the consumed part dominates). Array.shift would copy on every call once the queue is long.

export class WaitQueue<T> {
  private items: T[] = [];
  /** Index of the oldest item; items before it are consumed. */
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T; // let the task be collected
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes out one item wherever it is (an aborted task); linear, and rare. */
  remove(item: T): boolean {
    const at = this.items.indexOf(item, this.head);
    if (at === -1) return false;
    this.items.splice(at, 1);
    return true;
  }

  /** Empties the queue, returning what it held, oldest first. */
  takeAll(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }
}
