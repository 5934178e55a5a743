/**
 * The offline quickstart (`npm run demo`): a private root+controller, a private network, two
 * container daemons, python3's HTTP server under the intercept library in container A and curl
 * under the library in container B fetching a page from A's virtual address. Prints each step and
 * the result, then tears everything down. Exits 0 only when the page arrived intact.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, type ClusterOptions } from './cluster.js';
import { cleanupOnSignals, GiveUp, waitFor } from './processes.js';

export interface DemoResult {
  nwid: string;
  serverIp: string;
  clientIp: string;
  url: string;
  bytes: number;
  sha256: string;
}

export const DEMO_PORT = 8080;

/** Runs the demo; resolves with what was fetched, throws naming the step that failed. */
export async function runDemo(opts: ClusterOptions = {}): Promise<DemoResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const step = (n: number, text: string): void => log(`[${n}] ${text}`);
  step(1, 'starting a private root+controller daemon (private planet, nothing leaves this machine)');
  const cluster = new Cluster({ ...opts, log: (l) => log(`    ${l}`) });
  const release = cleanupOnSignals(() => cluster.stop());
  try {
    await cluster.startRoot();
    step(2, 'creating a private network on the controller');
    const nwid = await cluster.createNetwork({ name: 'ztnc-demo' });
    step(3, 'starting container daemons A and B, authorizing them, waiting for their addresses');
    const a = await cluster.addContainer('container-a', nwid);
    const b = await cluster.addContainer('container-b', nwid);

    const www = join(cluster.dir, 'www');
    mkdirSync(www, { recursive: true });
    const page = Buffer.concat([Buffer.from('hello from container A over ztnc\n'), Buffer.from(randomBytes(64 * 1024).toString('base64'))]);
    const digest = createHash('sha256').update(page).digest('hex');
    writeFileSync(join(www, 'index.html'), page);

    step(4, `container A: python3 -m http.server ${DEMO_PORT} --bind ${a.ip} (under libztintercept.so)`);
    const server = cluster.track(a.start('python3', ['-m', 'http.server', String(DEMO_PORT), '--bind', a.ip, '--directory', www]));
    const url = `http://${a.ip}:${DEMO_PORT}/index.html`;
    step(5, `container B: curl ${url} (under libztintercept.so)`);
    const fetched = await waitFor(
      'the page from container A',
      async () => {
        if (server.exited()) throw new GiveUp(`the server in container A exited: ${server.output().trim()}`);
        const r = await b.run('curl', ['-sS', '--max-time', '10', url], { timeoutMs: 20_000 });
        return r.code === 0 ? r.stdout : false;
      },
      60_000,
      500,
    );
    const got = Buffer.from(fetched);
    const gotDigest = createHash('sha256').update(got).digest('hex');
    if (gotDigest !== digest)
      throw new Error(`the page arrived altered: ${got.length} bytes, sha256 ${gotDigest}, expected ${page.length} bytes, ${digest}`);
    step(
      6,
      `result: ${got.length} bytes fetched by B (${b.ip}) from A (${a.ip}) on network ${nwid}, SHA-256 ${digest.slice(0, 16)}… equal`,
    );
    log(`    first line: ${got.toString().split('\n')[0]}`);
    return { nwid, serverIp: a.ip, clientIp: b.ip, url, bytes: got.length, sha256: gotDigest };
  } finally {
    step(7, 'cleaning up (stopping the server, the daemons, removing temp homes)');
    await cluster.stop();
    release();
  }
}
