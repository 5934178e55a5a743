/**
 * The apps bench's request/response figure: a one-byte TCP ping-pong (TCP_NODELAY both ends,
 * test/shim/rr_peer.c) between a server on one side and a client on the other, round-trip µs at
 * p50/p90/p99 over RTT_ROUNDS rounds after RTT_WARMUP unmeasured ones on the same connection (its
 * start: handshake, first segments). Between two containers it crosses both daemons' stacks and
 * the encrypted UDP path between them; on the kernel's loopback it is the reference. The apps bench
 * measures it after the other TCP figures, so the daemons' code is warm as in a long-running
 * daemon.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { GiveUp, waitFor } from '../src/demo/processes.js';
import { freePort, must, type Side } from './_apps-sides.js';

const RTT_ROUNDS = Number(process.env.APPS_BENCH_RTT_ROUNDS ?? 5000);
const RTT_WARMUP = 1000;

export interface RoundTrip {
  p50Us: number;
  p90Us: number;
  p99Us: number;
}

/** Compiles rr_peer into `dir` with the host's cc; returns the binary's path. */
export function buildRoundTripPeer(root: string, dir: string): string {
  const bin = join(dir, 'rr_peer');
  execFileSync('cc', ['-O2', '-o', bin, join(root, 'test', 'shim', 'rr_peer.c')], { stdio: 'inherit' });
  return bin;
}

/** rr_peer serve on `server`, rr_peer ping on `client`: `rounds` measured round trips. */
export async function roundTrip(bin: string, server: Side, client: Side, rounds = RTT_ROUNDS): Promise<RoundTrip> {
  const port = await freePort();
  const s = server.start(bin, ['serve', server.ip, String(port)]);
  try {
    await waitFor(
      `rr_peer serve (${server.label})`,
      () => {
        if (s.exited()) throw new GiveUp(`rr_peer serve exited: ${s.output()}`);
        return s.output().includes('listening');
      },
      30_000,
    );
    const out = must(
      await client.run(bin, ['ping', server.ip, String(port), String(rounds), String(RTT_WARMUP)], 120_000),
      `rr_peer ping (${client.label})`,
    );
    const r = JSON.parse(out.trim().split('\n').pop() ?? '') as { p50_us: number; p90_us: number; p99_us: number };
    return { p50Us: r.p50_us, p90Us: r.p90_us, p99Us: r.p99_us };
  } finally {
    await s.stop(3000);
  }
}
