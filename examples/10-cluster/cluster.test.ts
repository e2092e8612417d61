// The example's program on a real cluster of processes (Cluster from loom-dag/testing): the same estimate as
// the serial run, also when a node is killed while the jobs run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cluster } from "../../props/testing/index.js"; // in your project: from "loom-dag/testing"
import { Pool } from "../../engine/pool/index.js";
import { serialPi } from "../04-monte-carlo-pi/serial.js";
import { clusterPi } from "./pi.js";

const SAMPLES = 2_000_000;

test("π over a head and two nodes equals the serial estimate, with one node killed mid-run", async () => {
  const cluster = await Cluster.start({ head: { workers: 1 }, nodes: [{ workers: 1 }, { workers: 1 }], nodeTimeoutMs: 1_000 });
  const pool = new Pool({ address: cluster.address });
  try {
    const serial = serialPi(SAMPLES, 3);
    assert.equal(await clusterPi(pool, SAMPLES, 3), serial);
    let settled = false;
    const running = clusterPi(pool, SAMPLES * 40, 3).finally(() => { settled = true; });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(settled, false, "the jobs were still running when the node was killed");
    await cluster.removeNode(cluster.nodes[1]!, { graceful: false });
    assert.equal(await running, serialPi(SAMPLES * 40, 3));
  } finally {
    await pool.close();
    await cluster.shutdown();
  }
});
