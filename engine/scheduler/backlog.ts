// The queue of tasks waiting for a free slot of the core's task table or arena space for their payload.

/** A FIFO with O(1) shift and a lazy remove (removed items are skipped). */
export class Backlog<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private removed = 0;
  get length(): number {
    return this.items.length - this.head - this.removed;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (item !== undefined) {
        if (this.head > 4096 && this.head * 2 > this.items.length) { this.items = this.items.slice(this.head); this.head = 0; }
        return item;
      }
      this.removed--;
    }
    return undefined;
  }
  /** Puts an item back at the head (the one shift() just gave, which could not start yet). */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  /** Takes the newest item (the one push() just added). */
  pop(): T | undefined {
    while (this.items.length > this.head) {
      const item = this.items.pop();
      if (item !== undefined) return item;
      this.removed--;
    }
    return undefined;
  }
  remove(item: T): void {
    const i = this.items.indexOf(item, this.head);
    if (i >= 0) { this.items[i] = undefined; this.removed++; }
  }
}
