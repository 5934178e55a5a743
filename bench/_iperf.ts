/** One iperf3 TCP stream between two benchmark sides: what the apps and endpoints benches measure throughput with. */
import { startListening } from './_listening.js';
import { freePort, must, type Side } from './_apps-sides.js';

/** iperf3 server on `server`, client on `client` for `seconds`: received Gbit/s and bytes. */
export async function iperfRun(server: Side, client: Side, seconds: number): Promise<{ gbps: number; bytes: number }> {
  const port = await freePort();
  const s = await startListening(server, 'iperf3', ['-s', '-1', '--forceflush', '-B', server.ip, '-p', String(port)], 'Server listening', {
    what: 'iperf3 server',
  });
  try {
    const out = must(
      await client.run('iperf3', ['-c', server.ip, '-p', String(port), '-t', String(seconds), '-J'], (seconds + 60) * 1000),
      `iperf3 -c (${client.label})`,
    );
    const r = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number; bytes?: number } }; error?: string };
    const bps = r.end?.sum_received?.bits_per_second;
    const bytes = r.end?.sum_received?.bytes;
    if (typeof bps !== 'number' || typeof bytes !== 'number') throw new Error(`iperf3 gave no result: ${r.error ?? out.slice(0, 300)}`);
    return { gbps: bps / 1e9, bytes };
  } finally {
    await s.stop(3000);
  }
}
