/**
 * Starts a server program on a bench host (a container, the kernel side, a lab namespace) and
 * waits until it prints that it is listening; its output is the error when it exits first.
 */
import { GiveUp, type LongRunning, waitFor } from '../src/demo/processes.js';

export interface ServerHost {
  label: string;
  start(cmd: string, args: string[]): LongRunning;
}

export async function startListening(
  host: ServerHost,
  cmd: string,
  args: string[],
  ready: string,
  opts: { what?: string; pollMs?: number } = {},
): Promise<LongRunning> {
  const what = opts.what ?? cmd;
  const s = host.start(cmd, args);
  try {
    await waitFor(
      `${what} (${host.label})`,
      () => {
        if (s.exited()) throw new GiveUp(`${what} exited: ${s.output()}`);
        return s.output().includes(ready);
      },
      30_000,
      opts.pollMs,
    );
  } catch (e) {
    await s.stop(3000);
    throw e;
  }
  return s;
}
