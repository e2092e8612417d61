// An actor holds a warehouse's stock; tasks reserve items through a handle passed to them, and a named
// lookup finds the same actor from anywhere.
import { current, type ActorHandle } from "loom-dag";

export class Inventory {
  private readonly stock = new Map<string, number>();
  private reservations = 0;

  constructor(initial: Record<string, number>) {
    for (const [item, count] of Object.entries(initial)) this.stock.set(item, count);
  }

  /** Takes `count` of `item` if there are that many; calls on one actor run one at a time, so no two orders race. */
  reserve(item: string, count: number): boolean {
    const left = this.stock.get(item) ?? 0;
    if (left < count) return false;
    this.stock.set(item, left - count);
    this.reservations++;
    return true;
  }

  restock(item: string, count: number): number {
    const now = (this.stock.get(item) ?? 0) + count;
    this.stock.set(item, now);
    return now;
  }

  report(): { stock: Record<string, number>; reservations: number } {
    return { stock: Object.fromEntries(this.stock), reservations: this.reservations };
  }
}

/** A task that places an order against the actor whose handle it was given. */
export async function placeOrder(inventory: ActorHandle<Inventory>, item: string, count: number): Promise<string> {
  const ok = await current().get(inventory.reserve.remote(item, count));
  return `${count} × ${item}: ${ok ? "reserved" : "out of stock"}`;
}

/** A task that finds the actor by name instead of by handle. */
export async function restockByName(item: string, count: number): Promise<number> {
  const inventory = current().getActor<Inventory>("warehouse");
  return current().get(inventory.restock.remote(item, count));
}
