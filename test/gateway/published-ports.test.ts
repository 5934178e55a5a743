/**
 * Published ports end to end (issue 19): a private cluster with containers A and B; B is the
 * network's gateway and publishes a TCP and a UDP port of A on a host address of a veth pair made
 * for the test; a client in a network namespace the test makes reaches them, and the servers in A
 * see the client's own address (source preserved). Needs root (namespaces, veth).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { run, sleep, start, waitFor } from '../../src/demo/processes.js';
import { programBinDir } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';

const TIMEOUT_MS = 300_000;
const suite = 'published ports (root, network namespace)';

/** A TCP server answering each connection with the client address it sees; a UDP one echoing `<address> <data>`. */
const SERVERS = (ip: string): string => `
import socket, threading
def udp():
  u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('${ip}', 5353))
  while True:
    d,a=u.recvfrom(2000); u.sendto(a[0].encode()+b' '+d, a)
threading.Thread(target=udp, daemon=True).start()
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${ip}', 8080)); s.listen(8)
while True:
  c,a=s.accept(); c.recv(1000); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\n'+a[0].encode()); c.close()
`;

const UDP_CLIENT = (host: string, port: number): string =>
  `import socket; u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(3)\n` +
  `for i in range(5):\n  u.sendto(b'hello', ('${host}', ${port}))\n  try:\n    print(u.recv(2000).decode()); break\n  except socket.timeout: pass\n`;

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('curl', 'python3', 'unshare')), suite))(suite, () => {
  const r = 20 + Math.floor(Math.random() * 200);
  const ns = `zgwt-${process.pid}`;
  const hv = `zgwh${process.pid % 100000}`;
  const cv = `zgwc${process.pid % 100000}`;
  const hostIp = `10.198.${r}.1`;
  const clientIp = `10.198.${r}.2`;
  let cluster: Cluster;
  let a: Container;
  let b: Container;
  let nwid: string;

  const cli = (home: string, ...args: string[]) => run('ztnc-cli', ['-D', home, ...args], { env: cluster.env, timeoutMs: 30_000 });
  const inNs = (cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs: 30_000 });

  beforeAll(async () => {
    cluster = new Cluster({ binDir: await programBinDir() });
    await cluster.startRoot();
    nwid = await cluster.createNetwork();
    a = await cluster.addContainer('a', nwid);
    b = await cluster.addContainer('b', nwid);
    cluster.track(a.start('unshare', ['-n', 'python3', '-c', SERVERS(a.ip)]));
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['link', 'add', hv, 'type', 'veth', 'peer', 'name', cv]);
    execFileSync('ip', ['link', 'set', cv, 'netns', ns]);
    execFileSync('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hv]);
    execFileSync('ip', ['link', 'set', hv, 'up']);
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `ip addr add ${clientIp}/30 dev ${cv}; ip link set ${cv} up; ip link set lo up`]);
    await sleep(1000);
  }, TIMEOUT_MS);

  afterAll(async () => {
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
    await cluster?.stop();
  }, TIMEOUT_MS);

  it(
    'publishing needs the gateway role, and bad arguments are named',
    async () => {
      const notGateway = await cli(b.home, 'publish', nwid, 'tcp', `${hostIp}:40999`, `${a.ip}:8080`);
      expect(notGateway.code).toBe(1);
      expect(notGateway.stderr).toMatch(/not the gateway of .*gateway enable/);
      const badProto = await cli(b.home, 'publish', nwid, 'sctp', '40999', `${a.ip}:8080`);
      expect(badProto.code).toBe(2);
      expect(badProto.stderr).toMatch(/protocol: "sctp" is neither tcp nor udp/);
      const badPort = await cli(b.home, 'publish', nwid, 'tcp', '70000', `${a.ip}:8080`);
      expect(badPort.stderr).toMatch(/host port: 70000 is not a port number/);
      const badTarget = await cli(b.home, 'publish', nwid, 'tcp', '40999', `${a.ip}`);
      expect(badTarget.stderr).toMatch(/target: .* must be <member address or name>:<port>/);
    },
    TIMEOUT_MS,
  );

  it(
    'a TCP published port reaches the server in A with the client address preserved',
    async () => {
      const hp = 41000 + (r % 100);
      expect((await cli(b.home, 'gateway', 'enable', nwid)).code).toBe(0);
      const p = await cli(b.home, 'publish', nwid, 'tcp', `${hostIp}:${hp}`, `${a.ip}:8080`);
      expect(p.stderr).toBe('');
      expect(p.code).toBe(0);
      const got = await waitFor(
        'curl through the published port',
        async () => {
          const c = await inNs('curl', '-s', '-m', '10', `http://${hostIp}:${hp}/`);
          return c.stdout || undefined;
        },
        60_000,
      );
      expect(got).toBe(clientIp);
      // the same port again is refused, naming the one that holds it
      const again = await cli(b.home, 'publish', nwid, 'tcp', `${hostIp}:${hp}`, `${a.ip}:8080`);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already published/);
      const list = await cli(b.home, '-j', 'publish', 'list', nwid);
      const ports = JSON.parse(list.stdout) as { protocol: string; hostPort: number; stats: { preserved: number } }[];
      const mine = ports.find((x) => x.protocol === 'tcp' && x.hostPort === hp)!;
      expect(mine.stats.preserved).toBeGreaterThanOrEqual(1);
      expect((await cli(b.home, 'unpublish', nwid, 'tcp', `${hostIp}:${hp}`)).code).toBe(0);
      const gone = await inNs('curl', '-s', '-m', '3', `http://${hostIp}:${hp}/`);
      expect(gone.code).not.toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    "a port published to a member's name reaches it",
    async () => {
      const root = cluster.root!;
      await root.apiOk('POST', `/controller/network/${nwid}`, { dns: { domain: 'gw.ztnc', servers: [] } });
      await root.apiOk('POST', `/controller/network/${nwid}/member/${a.daemon.address}`, { name: 'alpha' });
      const hp = 43000 + (r % 100);
      expect((await cli(b.home, 'gateway', 'enable', nwid)).code).toBe(0);
      expect((await cli(b.home, 'publish', nwid, 'tcp', `${hostIp}:${hp}`, 'alpha.gw.ztnc:8080')).code).toBe(0);
      const got = await waitFor(
        'curl through the port published by name',
        async () => {
          const c = await inNs('curl', '-s', '-m', '5', `http://${hostIp}:${hp}/`);
          return c.stdout || undefined;
        },
        60_000,
        1000,
      );
      expect(got).toBe(clientIp);
    },
    TIMEOUT_MS,
  );

  it(
    'outbound: a program in A reaches a server in the namespace through the gateway B',
    async () => {
      expect((await cli(b.home, 'gateway', 'enable', nwid)).code).toBe(0);
      // the network's default route via the gateway, pushed by the controller
      const subnet = `${a.ip.split('.').slice(0, 3).join('.')}.0/24`;
      await cluster.root!.apiOk('POST', `/controller/network/${nwid}`, {
        routes: [
          { target: subnet, via: null },
          { target: '0.0.0.0/0', via: b.ip },
        ],
      });
      const far = cluster.track(
        start('ip', [
          'netns',
          'exec',
          ns,
          'python3',
          '-c',
          `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('${clientIp}', 8081)); s.listen(8)\nwhile True:\n  c,x=s.accept(); c.recv(1000); c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\nfar '+x[0].encode()); c.close()`,
        ]),
      );
      void far;
      const got = await waitFor(
        'curl from A through the gateway',
        async () => {
          const c = await a.run('unshare', ['-n', 'curl', '-s', '-m', '5', `http://${clientIp}:8081/`], { timeoutMs: 20_000 });
          return c.stdout.startsWith('far ') ? c.stdout : undefined;
        },
        90_000,
        1000,
      );
      // the server sees the host's address on its side: the gateway carried the flow out through a host socket
      expect(got).toBe(`far ${hostIp}`);
      const st = JSON.parse((await cli(b.home, '-j', 'gateway', 'status', nwid)).stdout) as { outbound: { flows: number } };
      expect(st.outbound.flows).toBeGreaterThanOrEqual(1);
    },
    TIMEOUT_MS,
  );

  it(
    'a UDP published port echoes, and the server sees the client address',
    async () => {
      const hp = 42000 + (r % 100);
      expect((await cli(b.home, 'gateway', 'enable', nwid)).code).toBe(0);
      expect((await cli(b.home, 'publish', nwid, 'udp', `${hostIp}:${hp}`, `${a.ip}:5353`)).code).toBe(0);
      const reply = await inNs('python3', '-c', UDP_CLIENT(hostIp, hp));
      expect(reply.stdout.trim()).toBe(`${clientIp} hello`);
    },
    TIMEOUT_MS,
  );
});
