// The example's program on a real cluster of processes (Cluster from loom-dag/testing): the same estimate as
// the serial run, also when a node is killed while the jobs run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Cluster } from "../../props/testing/index.js"; // in your project: from "loom-dag/testing"
import { Pool } from "../../engine/pool/index.js";
import { current, type Runtime } from "../../engine/index.js";
import { serialPi } from "../04-monte-carlo-pi/serial.js";
import { clusterPi } from "./pi.js";
import { estimatePi, makeJobs } from "../04-monte-carlo-pi/jobs.js";
import countInside from "../04-monte-carlo-pi/tasks.js";

const SAMPLES = 2_000_000;

test("π over a head and two nodes equals the serial estimate, with one node killed mid-run", async () => {
  const cluster = await Cluster.start({ head: { workers: 1 }, nodes: [{ workers: 1 }, { workers: 1 }], nodeTimeoutMs: 1_000 });
  const pool = new Pool({ address: cluster.address });
  try {
    const serial = serialPi(SAMPLES, 3);
    assert.equal(await clusterPi(pool, SAMPLES, 3), serial);
    // Killed once some jobs are done and others are not: those running on the lost node run again elsewhere.
    let retried = 0;
    (current() as Runtime).events.on("task:retried", (e: { reason: string }) => { if (e.reason === "node-died") retried++; });
    const jobs = makeJobs(SAMPLES * 40, 12);
    let done = 0;
    let killed: Promise<void> | undefined;
    const counts = await pool.map(countInside, jobs, {
      chunksize: 1,
      onProgress: (n) => { done = n; if (n >= 1 && !killed) killed = cluster.removeNode(cluster.nodes[1]!, { graceful: false }); },
    });
    await killed;
    assert.ok(done === jobs.length && killed, "the node was killed while the jobs ran");
    assert.ok(retried >= 1, "jobs that were on the lost node ran again");
    assert.equal(estimatePi(counts, SAMPLES * 40), serialPi(SAMPLES * 40, 3));
  } finally {
    await pool.close();
    await cluster.shutdown();
  }
});
