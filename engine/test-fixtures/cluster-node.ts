// A cluster node's process for engine/cluster/node-service.test.ts: a local Runtime and its work server on
// 127.0.0.1. Prints { address } as a JSON line; then answers stdin lines "held", "drain" and "release-owner ID"
// with JSON lines, and
// exits when stdin ends (so a test that dies leaves no node behind).
import { createInterface } from "node:readline";
import { Runtime } from "../runtime/runtime.js";
import { startNodeService } from "../cluster/node-service.js";

const runtime = new Runtime({ workers: 1, objectStoreBytes: 256 * 2 ** 20 });
const service = await startNodeService({ runtime, host: "127.0.0.1", port: 0, token: process.env.LOOM_TEST_TOKEN, nodeId: () => "node-test" });
const say = (line: object) => process.stdout.write(JSON.stringify(line) + "\n");
say({ address: service.address });

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line === "held") say({ held: service.held() });
  else if (line === "drain") service.drain().then(() => say({ drained: true }));
  else if (line.startsWith("release-owner ")) say(service.releaseOwner(line.slice("release-owner ".length)));
});
lines.on("close", () => {
  void service.close().then(() => runtime.shutdown()).finally(() => process.exit(0));
});
