// The dashboard's init option, checked before any thread starts and without loading the server.
import { LoomError } from "../errors.js";

export const DEFAULT_DASHBOARD_PORT = 8265;

/** `init({ dashboard })`: true, false, or `{ port }` (0 takes any free port). */
export type DashboardOption = boolean | { port?: number };

/** The port to serve on, or undefined when the dashboard is off; a bad value is a LoomError naming it. */
export function checkDashboardOption(value: unknown): { port: number } | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { port: DEFAULT_DASHBOARD_PORT };
  const shown = (() => { try { return JSON.stringify(value); } catch { return String(value); } })();
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new LoomError(`init(): invalid option dashboard: ${shown} (expected true, false or { port })`);
  }
  for (const key of Object.keys(value)) {
    if (key !== "port") throw new LoomError(`init(): unknown option dashboard.${key}; known: port`);
  }
  const port = (value as { port?: unknown }).port ?? DEFAULT_DASHBOARD_PORT;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new LoomError(`init(): invalid option dashboard.port: ${String(port)} (expected an integer 0..65535; 0 takes any free port)`);
  }
  return { port };
}
