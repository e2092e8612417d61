// One hosted actor's queue of jobs and the rule that starts them: arrival order, up to maxConcurrency at once,
// an exclusive job alone. Knows nothing of slots, payloads or the driver (see ActorHost).
export interface ActorMailbox {
  mailbox: Array<{ job: () => Promise<void>; exclusive: boolean }>;
  /** Jobs running now (at most maxConcurrency; an exclusive one runs alone). */
  running: number;
  maxConcurrency: number;
  /** An exclusive job (the constructor, a replayed call) runs: nothing starts beside it. */
  exclusive: boolean;
}

/**
 * Starts calls in arrival order (the driver sends each caller's calls in submission order), up to
 * maxConcurrency at once (1 by default: one at a time). An exclusive job waits for the running ones to end and
 * runs alone. A dropped host still drains: each job then only reports its slot skipped.
 */
export function actorDrain(host: ActorMailbox): void {
  while (host.mailbox.length && !host.exclusive && host.running < host.maxConcurrency) {
    const next = host.mailbox[0]!;
    if (next.exclusive && host.running > 0) return;
    host.mailbox.shift();
    host.running++;
    host.exclusive = next.exclusive;
    void next.job().finally(() => {
      host.running--;
      host.exclusive = false;
      actorDrain(host);
    });
  }
}
