// The driver's events (task:submitted, object:lost, actor:restarted, ...): owners emit through this seam, and
// the hot path builds a payload only when someone listens.
import type { EventEmitter } from "eventemitter3";

export interface EventSink {
  /** Whether anyone listens: the hot path builds event payloads only then. */
  listening(event: string): boolean;
  emit(event: string, payload: Record<string, unknown>): void;
}

/** An EventSink over the runtime's public emitter (rt.events). */
export function emitterSink(events: EventEmitter): EventSink {
  return {
    listening: (event) => events.listenerCount(event) > 0,
    emit: (event, payload) => { if (events.listenerCount(event) > 0) events.emit(event, payload); },
  };
}
