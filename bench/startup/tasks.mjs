// The task the start-up programs run (Loom and piscina alike): one addition.
export function add({ a, b }) {
  return a + b;
}
export default add;
