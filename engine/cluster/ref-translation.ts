// A pulled value that holds refs names objects by the ids of the process that wrote it, which mean nothing
// here. Its reader pulls each object it names first (from where the writer said it is), stores each as an
// object of its own, then decodes the value with its refs pointing at those and encodes it again: the copy
// holds refs of this process, kept alive by the copy as any value's refs are.
import { LoomError } from "../errors.js";
import type { ObjectRef } from "../refs.js";
import { decodeValue, encodeValue, type EncodedValue } from "../serialization/value-codec.js";
import type { ContainedSource, RawObject } from "../object-store/raw-object.js";
import type { Runtime } from "../runtime/runtime.js";
import { makeActorHandle } from "../remote.js";

/** The value of `raw` encoded again for `owner`, its refs replaced by the refs `localRef` gives for each object. */
export async function localizeRefs(raw: RawObject, owner: Runtime, localRef: (source: ContainedSource) => Promise<ObjectRef>): Promise<EncodedValue> {
  if (!raw.contains) throw new LoomError("a pulled value holds refs but its holder did not say where the objects they name are");
  const refs = new Map<number, ObjectRef>();
  for (const c of raw.contains ?? []) if (!refs.has(c.id)) refs.set(c.id, await localRef(c));
  const value = decodeValue(raw.bytes, 0, {
    ref: (id) => {
      const ref = refs.get(id);
      if (!ref) throw new LoomError(`a pulled value names object ${id}, which its holder did not list`);
      return ref;
    },
    // A handle names its actor's owner, so it means the same here: calls through it go to that owner.
    actor: (d) => makeActorHandle(owner, d),
  }, false);
  return encodeValue(value, "value", owner);
}
