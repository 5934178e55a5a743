/**
 * The apps bench's memcached figure: memcached on one side, memcslap (libmemcached-tools) on the
 * other with 50 concurrent clients (threads, TCP_NODELAY), one request at a time per client: GET
 * operations per second, after memcslap's own load of the keys. memcslap reports the time the
 * gets took; the figure is keys / that time. Null with a reason when memcslap is not installed.
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { GiveUp, waitFor } from '../src/demo/processes.js';
import { freePort, hostPort, must, type Side } from './_apps-sides.js';

const CLIENTS = 50;

/** Why the figure cannot be measured here, or null when it can. */
export function memcachedUnavailable(): string | null {
  for (const cmd of ['memcached', 'memcslap']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed (Debian: ${cmd === 'memcslap' ? 'libmemcached-tools' : 'memcached'})`;
    }
  }
  return null;
}

/** memcached on `server`, memcslap on `client`: GETs per second, `perClient` gets by each of 50 clients. */
export async function memcachedGets(server: Side, client: Side, perClient: number): Promise<number> {
  const port = await freePort();
  const asRoot = process.getuid?.() === 0 ? ['-u', userInfo().username] : [];
  // -U 0: no UDP listener (only the TCP figure is measured)
  const s = server.start('memcached', ['-p', String(port), '-l', server.ip, '-U', '0', '-t', '2', '-c', '1024', ...asRoot]);
  const target = hostPort(server.ip, port);
  try {
    await waitFor(
      `memcached (${server.label})`,
      async () => {
        if (s.exited()) throw new GiveUp(`memcached exited: ${s.output()}`);
        // memcslap with one get: succeeds once memcached answers
        return (
          (await client.run('memcslap', ['-s', target, '-N', '--concurrency=1', '--execute-number=1', '--test=get'], 10_000)).code === 0
        );
      },
      30_000,
      300,
    );
    const out = must(
      await client.run(
        'memcslap',
        ['-s', target, '-N', `--concurrency=${CLIENTS}`, `--execute-number=${perClient}`, '--test=get'],
        180_000,
      ),
      `memcslap (${client.label})`,
    );
    const m = /Time to get\s+(\d+) keys by\s+\d+ threads:\s+([0-9.]+) seconds/.exec(out);
    if (!m || Number(m[2]) <= 0) throw new Error(`memcslap printed no get figure: ${out.slice(-300)}`);
    return Number(m[1]) / Number(m[2]);
  } finally {
    await s.stop(3000);
  }
}
