/**
 * Waiting in real time for something a test cannot be told about directly (a process listening,
 * a file appearing, a status changing): poll until it holds, with a bound that only turns a hang
 * into a failure naming what was awaited. Virtual-time tests use their scheduler's runUntil.
 */

export type Probe<T> = () => T | null | undefined | false | Promise<T | null | undefined | false>;

/**
 * Calls `probe` every `intervalMs` until it returns a truthy value, and returns that. A probe that
 * throws is tried again (the thing may not be up yet); after `ms` the wait fails naming `what` and
 * the probe's last error.
 */
export async function waitFor<T>(probe: Probe<T>, ms: number, what: string, intervalMs = 50): Promise<T> {
  const end = Date.now() + ms;
  let lastError: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
