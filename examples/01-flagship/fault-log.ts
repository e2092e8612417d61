// Records what the engine reports about failures and recovery during a run (worker deaths, retries,
// lost and rebuilt objects) and summarizes it for the screen. It only listens; it never acts.
import type { EventSource, Payload } from "./event-source.js";

const RECORDED = ["worker:died", "task:retried", "task:failed", "object:lost", "object:rebuilt"] as const;

export class FaultLog {
  readonly entries: { event: (typeof RECORDED)[number]; payload: Payload }[] = [];
  /** Task names by id, learned from task:started, so later events can name their tasks. */
  private readonly names = new Map<string, string>();
  private readonly listeners: [string, (payload: Payload) => void][] = [];

  constructor(private readonly events: EventSource) {
    this.listen("task:started", (p) => {
      if (p.taskId !== undefined && typeof p.name === "string") this.names.set(String(p.taskId), p.name);
    });
    for (const event of RECORDED) this.listen(event, (payload) => this.entries.push({ event, payload }));
  }

  count(event: (typeof RECORDED)[number]): number {
    return this.entries.filter((e) => e.event === event).length;
  }

  /** One line per recorded event, under a heading; says so when nothing happened. */
  summary(): string {
    if (this.entries.length === 0) return "recovery: no faults were reported";
    const lines = this.entries.map(({ event, payload }) => `  ${event.padEnd(15)} ${this.describe(payload)}`);
    const rebuilt = this.count("object:rebuilt");
    const retried = this.count("task:retried");
    return [`recovery: ${retried} task(s) retried, ${rebuilt} object(s) rebuilt from lineage`, ...lines].join("\n");
  }

  detach(): void {
    for (const [event, fn] of this.listeners) this.events.off(event, fn);
  }

  private listen(event: string, fn: (payload: Payload) => void): void {
    this.events.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private describe(p: Payload): string {
    const parts: string[] = [];
    if (p.worker !== undefined) parts.push(`worker ${String(p.worker)}`);
    if (p.objectId !== undefined) parts.push(`object ${String(p.objectId)}`);
    if (p.taskId !== undefined) {
      const name = typeof p.name === "string" ? p.name : this.names.get(String(p.taskId));
      parts.push(`task ${String(p.taskId)}${name ? ` (${name})` : ""}`);
    }
    if (p.attempt !== undefined) parts.push(`attempt ${String(p.attempt)}`);
    if (p.error instanceof Error) parts.push(p.error.message);
    return parts.join(", ") || JSON.stringify(p);
  }
}
