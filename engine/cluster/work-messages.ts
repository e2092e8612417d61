// Checks of the work messages a node receives (messages.ts: RunTask, CreateActor, CallActor, KillActor, Release):
// a header is a peer's JSON, so every field is checked before use and a bad one becomes a LoomError naming it,
// which the node service sends back as the request's error. Option values go through the same checks as a
// local `.options()` call. Nothing here looks at bodies or at the node's tables.
import { LoomError } from "../errors.js";
import { MAX_RETURNS } from "../ids.js";
import { checkActorOptions, checkTaskOptions, type Resources, type TaskOptions } from "../options.js";
import type { FunctionDescriptor } from "../remote.js";
import type { Header } from "./wire.js";
import { parseAddress } from "./wire.js";
import type { CallActor, CancelTask, CreateActor, KillActor, ObjectSource, OwnedActorCall, OwnedActorKill, Release, RemoteTaskOptions, RunTask, StreamAck } from "./messages.js";

/** A message whose field is missing or of the wrong type. */
function bad(t: string, field: string, expected: string, value: unknown): never {
  let shown: string;
  try { shown = value === undefined ? "nothing" : JSON.stringify(value) ?? String(value); } catch { shown = typeof value; }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new LoomError(`${t}: malformed message: ${field} is ${shown} (expected ${expected})`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(h: Record<string, unknown>, t: string, field: string, path = field): string {
  const v = h[field];
  if (typeof v !== "string" || v === "") bad(t, path, "a non-empty string", v);
  return v;
}

function optionalStr(h: Record<string, unknown>, t: string, field: string): string | undefined {
  return h[field] === undefined ? undefined : str(h, t, field);
}

function int(h: Record<string, unknown>, t: string, field: string, min: number, path = field): number {
  const v = h[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) bad(t, path, `an integer >= ${min}`, v);
  return v;
}

function record(h: Record<string, unknown>, t: string, field: string, path = field): Record<string, unknown> {
  const v = h[field];
  if (!isRecord(v)) bad(t, path, "an object", v);
  return v;
}

/** An option value a local `.options()` would refuse: the same LoomError, naming the message. */
function asOption<T>(t: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw new LoomError(`${t}: ${(e as Error).message}`);
  }
}

function functionDescriptor(h: Record<string, unknown>, t: string, field: string): FunctionDescriptor {
  const d = record(h, t, field);
  const name = str(d, t, "name", `${field}.name`);
  if (d.kind === "module") return { kind: "module", url: str(d, t, "url", `${field}.url`), name };
  if (d.kind === "inline") return { kind: "inline", source: str(d, t, "source", `${field}.source`), name };
  bad(t, `${field}.kind`, `"module" or "inline"`, d.kind);
}

function taskOptions(h: Record<string, unknown>, t: string): RemoteTaskOptions {
  const o = record(h, t, "options");
  const numReturns = int(o, t, "numReturns", 1, "options.numReturns");
  if (numReturns > MAX_RETURNS) bad(t, "options.numReturns", `at most ${MAX_RETURNS}`, numReturns);
  const maxRetries = o.maxRetries === -1 ? -1 : int(o, t, "maxRetries", 0, "options.maxRetries");
  if (typeof o.retryExceptions !== "boolean") bad(t, "options.retryExceptions", "a boolean", o.retryExceptions);
  const resources = record(o, t, "resources", "options.resources") as Resources;
  const checked = asOption(t, () => checkTaskOptions({ numReturns, maxRetries, retryExceptions: o.retryExceptions, resources, ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }) }));
  const out: RemoteTaskOptions = { numReturns, maxRetries, retryExceptions: o.retryExceptions, resources: checked.resources!, timeoutMs: checked.timeoutMs };
  if (o.streaming !== undefined) {
    if (numReturns !== 1) bad(t, "options.numReturns", "1 for a streaming generator", numReturns);
    out.streaming = int(o, t, "streaming", 0, "options.streaming");
  }
  return out;
}

function objectSources(h: Record<string, unknown>, t: string): Record<string, ObjectSource> {
  const refs = record(h, t, "refs");
  const out: Record<string, ObjectSource> = {};
  for (const [id, source] of Object.entries(refs)) {
    if (!isRecord(source)) bad(t, `refs[${id}]`, "{ key, from }", source);
    const key = str(source, t, "key", `refs[${id}].key`);
    const from = str(source, t, "from", `refs[${id}].from`);
    try { parseAddress(from); } catch { bad(t, `refs[${id}].from`, "host:port", from); }
    out[id] = { key, from };
  }
  return out;
}

/** The local options a remote task or call runs with. */
export function localTaskOptions(o: RemoteTaskOptions, name?: string): TaskOptions {
  const out: TaskOptions = { numReturns: o.numReturns, maxRetries: o.maxRetries, retryExceptions: o.retryExceptions, resources: o.resources };
  if (o.streaming !== undefined) {
    out.numReturns = "streaming";
    if (o.streaming > 0) out.generatorBackpressure = o.streaming;
  }
  if (name !== undefined) out.name = name;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  return out;
}

export function checkRunTask(h: Header): RunTask {
  const t = "run-task";
  const fn = functionDescriptor(h, t, "fn");
  return {
    t, owner: str(h, t, "owner"), taskId: int(h, t, "taskId", 0), fn,
    name: h.name === undefined ? fn.name : str(h, t, "name"),
    moduleHash: optionalStr(h, t, "moduleHash"), options: taskOptions(h, t), refs: objectSources(h, t), spill: h.spill === true,
    attempt: h.attempt === undefined ? undefined : int(h, t, "attempt", 0),
  };
}

export function checkStreamAck(h: Header): StreamAck {
  const t = "stream-ack";
  const taken = h.taken === -1 ? -1 : int(h, t, "taken", 0);
  return { t, owner: str(h, t, "owner"), taskId: int(h, t, "taskId", 0), taken };
}

export function checkCreateActor(h: Header): CreateActor {
  const t = "actor-create";
  const cls = functionDescriptor(h, t, "cls");
  const methods = h.methods;
  if (!Array.isArray(methods) || !methods.every((m) => typeof m === "string" && m !== "")) bad(t, "methods", "a list of method names", methods);
  const o = record(h, t, "options");
  const resources = record(o, t, "resources", "options.resources") as Resources;
  const checked = asOption(t, () => checkActorOptions({ resources, ...(o.maxConcurrency === undefined ? {} : { maxConcurrency: o.maxConcurrency }) }));
  return {
    t, owner: str(h, t, "owner"), actorKey: str(h, t, "actorKey"), cls, methods: methods as string[],
    moduleHash: optionalStr(h, t, "moduleHash"),
    options: { resources: checked.resources!, ...(checked.maxConcurrency === undefined ? {} : { maxConcurrency: checked.maxConcurrency }) },
    refs: objectSources(h, t),
  };
}

export function checkCallActor(h: Header): CallActor {
  const t = "actor-call";
  return {
    t, actorKey: str(h, t, "actorKey"), taskId: int(h, t, "taskId", 0), method: str(h, t, "method"),
    options: taskOptions(h, t), refs: objectSources(h, t), attempt: h.attempt === undefined ? undefined : int(h, t, "attempt", 0),
  };
}

export function checkOwnedActorCall(h: Header): OwnedActorCall {
  const t = "owned-actor-call";
  if (typeof h.retriesGiven !== "boolean") bad(t, "retriesGiven", "a boolean", h.retriesGiven);
  const options = taskOptions(h, t);
  // A streaming call through another process's handle is refused by its caller: its yields have no way back.
  if (options.streaming !== undefined) bad(t, "options.streaming", "nothing (a call from another process does not stream)", options.streaming);
  return {
    t, caller: str(h, t, "caller"), actorId: int(h, t, "actorId", 0), taskId: int(h, t, "taskId", 0), method: str(h, t, "method"),
    options, retriesGiven: h.retriesGiven, refs: objectSources(h, t),
  };
}

export function checkOwnedActorKill(h: Header): OwnedActorKill {
  const t = "owned-actor-kill";
  if (typeof h.noRestart !== "boolean") bad(t, "noRestart", "a boolean", h.noRestart);
  return { t, actorId: int(h, t, "actorId", 0), noRestart: h.noRestart };
}

export function checkKillActor(h: Header): KillActor {
  return { t: "actor-kill", actorKey: str(h, "actor-kill", "actorKey") };
}

export function checkCancel(h: Header): CancelTask {
  const taskId = h.taskId;
  if (!Number.isSafeInteger(taskId)) bad("cancel", "taskId", "an integer", taskId);
  return { t: "cancel", owner: str(h, "cancel", "owner"), taskId: taskId as number, force: h.force === true };
}

export function checkRelease(h: Header): Release {
  const keys = h.keys;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) bad("release", "keys", "a list of object keys", keys);
  return { t: "release", keys: keys as string[] };
}
