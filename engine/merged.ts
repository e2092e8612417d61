// Shallow merges for objects made per task, per call or per message. On Node 20 (V8 11.3) an object literal that
// starts with a spread and then adds a property or a second spread (`{ ...a, b }`, `{ ...a, ...b }`) gets a hidden
// class of its own once its site is warm: 1.5-2.7 µs per object here against 0.1-0.6 µs for Object.assign (which
// keeps one shared class), and each object with a class of its own is slow again wherever it is read
// (JSON.stringify of a frame header, property loads) and costs the collector the class too. A literal whose
// first entry is a plain property (`{ cpu: 1, ...a }`) is not affected.

/** `{ ...a, ...b }` with one shared hidden class per pair of shapes. */
export function merged<A extends object, B extends object>(a: A, b: B): A & B {
  return Object.assign({}, a, b);
}
