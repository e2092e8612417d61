// An actor that reports the CPU time of the thread it runs on, from /proc/thread-self/stat (Linux): Node 20 has
// no per-thread CPU clock, and every thread of a process reads the same process.cpuUsage().
import { readFileSync } from "node:fs";
import { threadId } from "node:worker_threads";

/** User + system CPU of the calling thread, in seconds (clock ticks of 10 ms). */
export function threadCpuSeconds(): number {
  const stat = readFileSync("/proc/thread-self/stat", "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export class ThreadCpuProbe {
  cpu(): { worker: number; seconds: number } {
    return { worker: threadId, seconds: threadCpuSeconds() };
  }
}
