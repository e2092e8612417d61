// The slice of rt.events (an eventemitter3 EventEmitter) the flagship listens to.
// Structural, so these helpers do not depend on the engine's event typings.

export type Payload = Record<string, unknown>;

export interface EventSource {
  on(event: string, listener: (payload: Payload) => void): unknown;
  off(event: string, listener: (payload: Payload) => void): unknown;
}
