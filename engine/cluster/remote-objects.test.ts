// The driver's bookkeeping of who may keep a copy of its objects: a process it sent work naming an object to is
// told to drop its copy when the object is freed here (else dead copies sit in that node's cache of pulled
// objects, and their memory out of its segment pool, until evicted). Fakes stand in for the runtime and wire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RemoteObjects, type HolderLookup, type RemoteObjectsDeps } from "./remote-objects.js";
import type { ObjectId } from "../ids.js";

function withFakeWire() {
  const sent: Array<{ to: string; keys: string[] }> = [];
  const link = {
    nodeId: "driver", address: "127.0.0.1:1",
    puller: { connection: async (to: string) => ({ send: (h: { t: string; keys: string[] }) => { assert.equal(h.t, "release"); sent.push({ to, keys: h.keys }); } }) },
    liveAddress: () => undefined, madeRemotely: () => false, draining: () => false,
  } as unknown as HolderLookup;
  const objects = new RemoteObjects({} as RemoteObjectsDeps, link);
  const settled = () => new Promise((r) => setImmediate(r));
  return { objects, sent, settled };
}

test("a freed object is released on every process that was sent work naming it, once, under the key it pulls by", async () => {
  const { objects, sent, settled } = withFakeWire();
  const put = { key: "driver/o/5", from: "127.0.0.1:1" };
  const result = { key: "nodeA/7/0", from: "127.0.0.1:2" };
  objects.sentTo({ 5: put, 9: result }, "127.0.0.1:3");
  objects.sentTo({ 5: put }, "127.0.0.1:4");
  objects.sentTo({ 5: put }, "127.0.0.1:3"); // a second task to the same node
  objects.sentTo({ 9: result }, "127.0.0.1:2"); // work sent to the holder itself: released as the holder, not here
  objects.objectFreed(5 as ObjectId);
  await settled();
  assert.deepEqual(sent.sort((a, b) => a.to.localeCompare(b.to)), [{ to: "127.0.0.1:3", keys: ["driver/o/5"] }, { to: "127.0.0.1:4", keys: ["driver/o/5"] }]);
  sent.length = 0;
  objects.objectFreed(9 as ObjectId);
  objects.objectFreed(5 as ObjectId); // freed once: nothing more to tell
  await settled();
  assert.deepEqual(sent, [{ to: "127.0.0.1:3", keys: ["nodeA/7/0"] }]);
});
