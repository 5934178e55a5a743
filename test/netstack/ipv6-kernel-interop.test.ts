/**
 * The stack's IPv6 against the Linux kernel's: a namespace with a TAP whose fd drives the stack
 * (real time). The kernel resolves the stack with neighbor discovery, pings it (small and
 * fragmented both ways), fetches from it with `curl -6`; the stack fetches from a kernel server
 * behind a kernel router whose next link has MTU 1280, so the router's packet too big must lower
 * the stack's path MTU (RFC 8201) for the transfer to finish. Transfers are checked by SHA-256.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { attachTap, type TapLink } from '../../src/native/tap-link.js';
import { parseIpv4, parseIpv6Addr, parseMac } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { Errno, errnoName } from '../../src/netstack/errno.js';
import { createNetStack } from '../../src/netstack/index.js';
import { SHUT_WR, type TcpSocket } from '../../src/netstack/socket-api.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { createNetnsTap, type NetnsTap } from './kernel-netns.js';

const STACK_MAC = parseMac('02:7a:74:6e:63:36')!;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const v6 = (t: string) => parseIpv6Addr(t)!;

/** Sends `payload` then FIN and hashes what comes back until the peer's FIN; `startNow` for sockets already connected. */
function exchange(sock: TcpSocket, payload: Buffer, startNow = false): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let received = 0;
    let sent = 0;
    let shut = false;
    let eof = false;
    const done = () => {
      if (eof && shut) {
        sock.close();
        resolve({ sha: hash.digest('hex'), bytes: received });
      }
    };
    const pump = () => {
      while (!shut && sent < payload.length) {
        const n = sock.write(payload.subarray(sent, sent + 65536));
        if (n === -Errno.EAGAIN || n === 0) return;
        if (n < 0) return reject(new Error(`write: ${errnoName(n)}`));
        sent += n;
      }
      if (!shut) {
        shut = true;
        sock.shutdown(SHUT_WR);
        done();
      }
    };
    const drain = () => {
      for (;;) {
        const r = sock.read(262144);
        if (typeof r !== 'number') {
          hash.update(r);
          received += r.length;
          continue;
        }
        if (r === 0) {
          eof = true;
          done();
        } else if (r !== -Errno.EAGAIN) reject(new Error(`read: ${errnoName(r)}`));
        return;
      }
    };
    sock.handlers = {
      onConnect: () => {
        pump();
        drain();
      },
      onReadable: drain,
      onWritable: pump,
      onError: (e) => reject(new Error(`socket error ${errnoName(e)}`)),
    };
    if (startNow) {
      pump();
      drain();
    }
  });
}

const requirement = combine(needRootNetns(), needPrograms('python3', 'curl', 'ping'));

describe.runIf(requireOrSkip(requirement, 'IPv6 kernel interop (TAP in a network namespace)'))('IPv6 kernel interop over a TAP', () => {
  let net: NetnsTap | undefined;
  let link: TapLink | undefined;
  let stack: NetStack | undefined;
  let far: string | undefined;

  afterEach(() => {
    link?.close();
    stack?.close();
    net?.cleanup();
    if (far) {
      try {
        execFileSync('ip', ['netns', 'del', far], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    link = stack = net = far = undefined;
  });

  function setUp(): { net: NetnsTap; stack: NetStack } {
    net = createNetnsTap({ ipv6: true });
    stack = createNetStack({ scheduler: new RealScheduler(), mac: STACK_MAC, mtu: 1500, name: 'kernel-interop-v6' });
    stack.addAddress(parseIpv4(net.stackIp)!, net.prefixLen);
    stack.addAddress(v6(net.stackIp6), 64);
    link = attachTap(stack, net.fd);
    net.releaseFd();
    return { net, stack };
  }

  it('the kernel pings the stack over IPv6, small and fragmented, and learns it by neighbor discovery', async () => {
    const t = setUp();
    const small = await t.net.run('ping', ['-6', '-c', '3', '-i', '0.2', '-W', '2', t.net.stackIp6], { timeoutMs: 20_000 });
    expect(small.code, small.stdout.toString() + small.stderr).toBe(0);
    expect(small.stdout.toString()).toContain('3 received');
    const big = await t.net.run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-s', '4000', t.net.stackIp6], { timeoutMs: 20_000 });
    expect(big.code, big.stdout.toString() + big.stderr).toBe(0);
    expect(big.stdout.toString()).toContain('2 received');
    const neigh = t.net.execSync('ip', ['-6', 'neigh', 'show', t.net.stackIp6, 'dev', t.net.tapName]);
    expect(neigh).toContain('02:7a:74:6e:63:36');
    const c = t.stack.counters();
    expect(c.ipv6!.reasm_ok).toBeGreaterThanOrEqual(2);
    expect(c.ipv6!.tx_fragmented).toBeGreaterThanOrEqual(2);
  });

  it('the stack pings the kernel over IPv6', async () => {
    const t = setUp();
    const r = await new Promise<{ ok: boolean }>((resolve) => t.stack.ping(v6(t.net.kernelIp6), { timeoutMs: 3000 }, resolve));
    expect(r.ok).toBe(true);
  });

  it('curl -6 downloads 4 MB over HTTP from a stack server', async () => {
    const t = setUp();
    const payload = randomBytes(4 << 20);
    const listener = t.stack.tcpSocket(6);
    expect(listener.bind(v6('::'), 8080)).toBe(0);
    expect(listener.listen(8)).toBe(0);
    const response = Buffer.concat([
      Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`),
      payload,
    ]);
    const served = new Promise<unknown>((resolve, reject) => {
      listener.handlers = {
        onAcceptable: () => {
          const conn = listener.accept();
          if (conn) exchange(conn, response, true).then(resolve, reject);
        },
      };
    });
    const res = await t.net.run('sh', ['-c', `curl -6 -sS --fail --max-time 60 'http://[${t.net.stackIp6}]:8080/' | sha256sum`], {
      timeoutMs: 90_000,
    });
    expect(res.stderr).toBe('');
    expect(res.stdout.toString().split(' ')[0]).toBe(sha256(payload));
    await served;
    listener.close();
  });

  it('path MTU: a kernel router whose next link has MTU 1280 sends packet too big, the stack adapts', async () => {
    const t = setUp();
    // a second namespace behind the TAP namespace: the router's side of the veth has MTU 1280, the
    // far side 1500 (so the far server's MSS invites full-sized segments the router cannot forward)
    far = `${t.net.ns}-far`;
    const sh = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    sh(['netns', 'add', far]);
    const a = `va${t.net.tapName.slice(2, 10)}`;
    const b = `vb${t.net.tapName.slice(2, 10)}`;
    sh(['-n', t.net.ns, 'link', 'add', a, 'mtu', '1280', 'type', 'veth', 'peer', 'name', b, 'netns', far]);
    t.net.execSync('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
    sh(['-n', t.net.ns, '-6', 'addr', 'add', 'fd78::1/64', 'dev', a, 'nodad']);
    sh(['-n', far, '-6', 'addr', 'add', 'fd78::2/64', 'dev', b, 'nodad']);
    sh(['-n', t.net.ns, 'link', 'set', a, 'up']);
    sh(['-n', far, 'link', 'set', b, 'up', 'mtu', '1500']);
    sh(['-n', far, 'link', 'set', 'lo', 'up']);
    sh(['-n', far, '-6', 'route', 'add', 'default', 'via', 'fd78::1']);
    t.stack.addRoute({ dest: v6('fd78::'), prefixLen: 64, gateway: v6(t.net.kernelIp6), metric: 0 });
    // the far server hashes what it receives and answers with the hash (small packets only that way)
    const py = `
import hashlib, socket
ls = socket.socket(socket.AF_INET6); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('fd78::2', 9100)); ls.listen(1); ls.settimeout(60)
s, _ = ls.accept(); s.settimeout(60)
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(65536)
    if not b: break
    h.update(b); n += len(b)
s.sendall(('%s %d' % (h.hexdigest(), n)).encode()); s.close()`;
    const server = runIn(far, ['python3', '-c', py]);
    const toFar = randomBytes(1 << 20);
    let got: { sha: string; bytes: number } | undefined;
    let answer = '';
    for (let i = 0; i < 50 && !got; i++) {
      const sock = t.stack.tcpSocket(6);
      expect(sock.connect(v6('fd78::2'), 9100)).toBe(-Errno.EINPROGRESS);
      const text: Buffer[] = [];
      const read = sock.read.bind(sock);
      // keep what comes back (the hash line) besides hashing it
      sock.read = (n?: number) => {
        const r = read(n);
        if (typeof r !== 'number') text.push(Buffer.from(r));
        return r;
      };
      try {
        got = await exchange(sock, toFar);
        answer = Buffer.concat(text).toString();
      } catch (e) {
        if (!String(e).includes('ECONNREFUSED')) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const res = await server;
    expect(res.code).toBe(0);
    expect(answer).toBe(`${sha256(toFar)} ${toFar.length}`);
    const c = t.stack.counters();
    expect(c.icmpv6!.rx_packet_too_big_pmtu_lowered).toBeGreaterThanOrEqual(1);
  });
});

/** Runs a command in namespace `ns` to completion without blocking the event loop. */
function runIn(ns: string, cmd: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, out }));
  });
}
