/**
 * A member behind a gateway (issue 19), end to end: the controller pushes the default route via
 * the gateway (`net default-route`), and through it the member pings a host in a network namespace
 * standing in for "the internet" (ICMP echo carried out by the gateway's ping sockets), resolves a
 * name only that namespace's DNS server (dnsmasq) knows (the gateway answers DNS with its host
 * resolvers, here a resolv.conf naming that server), and reaches the host's 127.0.0.1 at the
 * gateway's host-loopback alias only while host loopback is allowed.
 *
 * Ping sockets need the daemon's group in net.ipv4.ping_group_range; where the host's range leaves
 * root out (the kernel's default "1 0"), the suite widens it to "0 0" for its run and puts the old
 * value back afterwards. Needs root (namespaces, veth, that sysctl).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { run, sleep, start, waitFor } from '../../src/demo/processes.js';
import { programBinDir } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';

const TIMEOUT_MS = 300_000;
const suite = 'outbound ICMP, DNS and host-loopback alias through a gateway (root, network namespace)';
const PING_RANGE = '/proc/sys/net/ipv4/ping_group_range';

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('curl', 'python3', 'unshare', 'dnsmasq')), suite))(suite, () => {
  const r = 20 + Math.floor(Math.random() * 200);
  const ns = `zgwo-${process.pid}`;
  const hv = `zgoh${process.pid % 100000}`;
  const cv = `zgoc${process.pid % 100000}`;
  const hostIp = `10.197.${r}.1`;
  const farIp = `10.197.${r}.2`;
  const alias = `192.0.2.${r}`;
  let cluster: Cluster;
  let a: Container;
  let b: Container;
  let nwid: string;
  let savedRange: string | null = null;
  let loopbackPort = 0;

  const cli = (home: string, ...args: string[]) => run('ztnc-cli', ['-D', home, ...args], { env: cluster.env, timeoutMs: 30_000 });
  const inA = (cmd: string, ...args: string[]) => a.run('unshare', ['-n', cmd, ...args], { timeoutMs: 30_000 });

  beforeAll(async () => {
    const range = readFileSync(PING_RANGE, 'utf8').trim().split(/\s+/).map(Number);
    if (!(range[0]! <= 0 && range[1]! >= 0)) {
      savedRange = range.join('\t');
      writeFileSync(PING_RANGE, '0 0');
    }
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['link', 'add', hv, 'type', 'veth', 'peer', 'name', cv]);
    execFileSync('ip', ['link', 'set', cv, 'netns', ns]);
    execFileSync('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hv]);
    execFileSync('ip', ['link', 'set', hv, 'up']);
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `ip addr add ${farIp}/30 dev ${cv}; ip link set ${cv} up; ip link set lo up`]);

    cluster = new Cluster({ binDir: await programBinDir() });
    // the gateway's host resolvers: the "internet" namespace's DNS server
    const resolvConf = join(cluster.dir, 'resolv.conf');
    writeFileSync(resolvConf, `nameserver ${farIp}\n`);
    cluster.env.ZTNC_GATEWAY_RESOLV_CONF = resolvConf;
    cluster.track(
      start('ip', [
        'netns',
        'exec',
        ns,
        'dnsmasq',
        '--no-daemon',
        '--no-resolv',
        '--no-hosts',
        '--user=root',
        '--bind-interfaces',
        `--listen-address=${farIp}`,
        '--address=/far.example/10.9.9.9',
        '--pid-file=',
      ]),
    );
    // a server on the host's loopback, for the alias
    const srv = cluster.track(
      start('python3', [
        '-c',
        `import socket\ns=socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(8); print(s.getsockname()[1], flush=True)\nwhile True:\n  c,x=s.accept(); c.recv(1000); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nhost loopback'); c.close()`,
      ]),
    );
    loopbackPort = await waitFor('the loopback server to listen', () => Number(srv.output().trim().split('\n')[0]) || undefined, 10_000);

    await cluster.startRoot();
    nwid = await cluster.createNetwork();
    a = await cluster.addContainer('a', nwid);
    b = await cluster.addContainer('b', nwid);
    await sleep(500);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // not made
    }
    try {
      execFileSync('ip', ['link', 'del', hv], { stdio: 'ignore' });
    } catch {
      // went with the namespace
    }
    if (savedRange !== null) writeFileSync(PING_RANGE, savedRange);
  }, TIMEOUT_MS);

  it(
    'the controller pushes the default route via the gateway to the member (net default-route)',
    async () => {
      expect((await cli(b.home, 'gateway', 'enable', nwid)).code).toBe(0);
      const set = await cli(cluster.root!.home, 'net', 'default-route', nwid, b.daemon.address);
      expect(set.stderr).toBe('');
      expect(set.code).toBe(0);
      const routes = await waitFor(
        "the default route in A's config",
        async () => {
          const l = await cli(a.home, '-j', 'listnetworks');
          const n = (JSON.parse(l.stdout) as { id: string; routes?: { target: string; via: string | null }[] }[]).find(
            (x) => x.id === nwid,
          );
          return n?.routes?.some((x) => x.target === '0.0.0.0/0') ? n.routes : undefined;
        },
        60_000,
        500,
      );
      expect(routes).toContainEqual({ target: '0.0.0.0/0', via: b.ip, flags: 0, metric: 0 });
      // the gateway itself is not given a route to itself
      const lb = await cli(b.home, '-j', 'listnetworks');
      const nb = (JSON.parse(lb.stdout) as { id: string; routes?: { target: string }[] }[]).find((x) => x.id === nwid);
      expect(nb?.routes?.some((x) => x.target === '0.0.0.0/0')).toBe(false);
    },
    TIMEOUT_MS,
  );

  it(
    'the member pings a host beyond the network through the gateway (ping socket)',
    async () => {
      const out = await waitFor(
        'ping from A through the gateway',
        async () => {
          const p = await cli(a.home, 'ping', nwid, farIp, '-c', '2');
          return p.code === 0 ? p.stdout : undefined;
        },
        60_000,
        1000,
      );
      expect(out).toMatch(new RegExp(`from ${farIp.replaceAll('.', '\\.')}`));
      const st = JSON.parse((await cli(b.home, '-j', 'gateway', 'status', nwid)).stdout) as {
        outbound: { flows: number; bytesIn: number };
      };
      expect(st.outbound.flows).toBeGreaterThanOrEqual(1);
      expect(st.outbound.bytesIn).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );

  it(
    "a name outside the network resolves through the gateway's host resolvers",
    async () => {
      const got = await waitFor(
        'far.example to resolve in A',
        async () => {
          const q = await inA('python3', '-c', 'import socket; print(socket.gethostbyname("far.example"))');
          return q.code === 0 ? q.stdout.trim() : undefined;
        },
        60_000,
        1000,
      );
      expect(got).toBe('10.9.9.9');
      const st = JSON.parse((await cli(b.home, '-j', 'gateway', 'status', nwid)).stdout) as { dns: { answered: number } };
      expect(st.dns.answered).toBeGreaterThanOrEqual(1);
    },
    TIMEOUT_MS,
  );

  it(
    "the host-loopback alias reaches the host's 127.0.0.1 only while host loopback is allowed",
    async () => {
      expect((await cli(b.home, 'gateway', 'enable', nwid, '--host-loopback-alias', alias)).code).toBe(0);
      // the policy applies: host loopback is off by default, so the alias is refused
      const refused = await inA('curl', '-s', '-m', '5', `http://${alias}:${loopbackPort}/`);
      expect(refused.stdout).toBe('');
      expect(refused.code).not.toBe(0);
      const on = await cli(b.home, 'gateway', 'enable', nwid, '--allow-host-loopback');
      expect(on.code).toBe(0);
      const got = await waitFor(
        'curl from A to the alias',
        async () => {
          const c = await inA('curl', '-s', '-m', '5', `http://${alias}:${loopbackPort}/`);
          return c.stdout || undefined;
        },
        30_000,
        1000,
      );
      expect(got).toBe('host loopback');
      const st = JSON.parse((await cli(b.home, '-j', 'gateway', 'status', nwid)).stdout) as {
        policy: { allowHostLoopback: boolean; hostLoopbackAlias: string | null };
      };
      expect(st.policy).toMatchObject({ allowHostLoopback: true, hostLoopbackAlias: alias });
      expect((await cli(b.home, 'gateway', 'enable', nwid, '--deny-host-loopback', '--host-loopback-alias', 'off')).code).toBe(0);
      const off = await inA('curl', '-s', '-m', '5', `http://${alias}:${loopbackPort}/`);
      expect(off.stdout).toBe('');
      const bad = await cli(b.home, 'gateway', 'enable', nwid, '--host-loopback-alias', '127.0.0.2');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/outside 127\.0\.0\.0\/8/);
    },
    TIMEOUT_MS,
  );
});
