// The raw-TCP peer of the cluster workload: a process that reads `bytes` bytes from one loopback connection and
// answers one byte, so the sender's clock measures one transfer of the same size as Loom's pulls.
import net from "node:net";

const server = net.createServer((socket) => {
  let expected = -1, seen = 0;
  let header = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    if (expected < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < 8) return;
      expected = Number(header.readBigUInt64BE(0));
      chunk = header.subarray(8);
    }
    seen += chunk.length;
    if (seen >= expected) { socket.write(Buffer.from([1])); expected = -1; seen = 0; header = Buffer.alloc(0); }
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
