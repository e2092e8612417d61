// Light stand-ins for node processes, for bench/cluster-scale.ts: this process registers `--count` nodes of no
// workers with the head through the real HeadClient (the same handshake, registration, heartbeats every
// nodeTimeoutMs / 5, and node-added / node-died fan-out a real node gets), and does nothing else. Prints
// "ready" once all are registered; exits when its stdin closes.
import { HeadClient } from "../engine/cluster/head-client.js";

const arg = (name: string) => process.argv[process.argv.indexOf(name) + 1]!;
const count = Number(arg("--count"));
const clients: HeadClient[] = [];
for (let i = 0; i < count; i++) {
  clients.push(await HeadClient.connect({
    address: arg("--head"), token: process.env.LOOM_TOKEN,
    info: { address: `127.0.0.1:${1 + i}`, workers: 0, resources: {}, isDriver: false, pid: process.pid },
  }));
}
process.stdout.write("ready\n");
process.stdin.on("end", () => { for (const c of clients) c.close(); process.exit(0); });
process.stdin.resume();
