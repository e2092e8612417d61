// A stand-in for node-service.ts (issue 17, built in parallel) with its signature: it listens and answers every
// work request with an error. Deleted once the real node service is merged.
import { LoomError, toWire } from "../errors.js";
import type { Runtime } from "../runtime/runtime.js";
import { listen } from "./wire.js";

export interface NodeServiceOptions {
  runtime: Runtime;
  host: string;
  port: number;
  token?: string;
  nodeId: () => string;
}

export interface NodeService {
  address: string;
  close(): Promise<void>;
  drain(): Promise<void>;
}

export async function startNodeService(options: NodeServiceOptions): Promise<NodeService> {
  const server = await listen({ host: options.host, port: options.port, token: options.token }, (c) => {
    c.onFrame = (f) => c.reply(f.h, { error: toWire(new LoomError(`node ${options.nodeId()}: the node service is not built yet`)) });
  });
  return { address: `${options.host}:${server.port}`, close: () => server.close(), drain: async () => {} };
}
