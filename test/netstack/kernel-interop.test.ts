/**
 * The userspace stack against the Linux kernel's TCP/IP: a namespace the test makes, a TAP whose
 * fd drives the stack (real time), and real programs (python3, curl, ping) on the kernel side.
 * Every transfer is checked by SHA-256 in both directions.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../support/temp-dir.js';
import { attachTap, type FrameEndpoint, type TapLink } from '../../src/native/tap-link.js';
import { parseIpv4, parseMac } from '../../src/netstack/addr.js';
import { RealScheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { Errno, errnoName } from '../../src/netstack/errno.js';
import { SHUT_WR, type TcpSocket } from '../../src/netstack/socket-api.js';
import { createNetStack } from '../../src/netstack/index.js';
import type { NetStack } from '../../src/netstack/stack-api.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';
import { createNetnsTap, kernelNeighbour, type NetnsTap } from './kernel-netns.js';

const TRANSFER_BYTES = 8 << 20;
const STACK_MAC = parseMac('02:7a:74:6e:63:22')!;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface StreamResult {
  sha: string;
  bytes: number;
}

/**
 * Sends `payload` (then FIN) while hashing everything received until the peer's FIN, on a stack
 * socket; resolves when both directions are finished. `startNow` for sockets already connected.
 */
function duplex(sock: TcpSocket, payload: Buffer, startNow: boolean): Promise<StreamResult> {
  return new Promise<StreamResult>((resolve, reject) => {
    const hash = createHash('sha256');
    let received = 0;
    let sent = 0;
    let shut = false;
    let eof = false;
    let finished = false;
    const fail = (why: string) => {
      if (finished) return;
      finished = true;
      sock.abort();
      reject(new Error(`${why} after ${sent} bytes sent, ${received} received; info ${JSON.stringify(sock.info())}`));
    };
    const maybeDone = () => {
      if (finished || !eof || !shut) return;
      finished = true;
      sock.close();
      resolve({ sha: hash.digest('hex'), bytes: received });
    };
    const pump = () => {
      while (!shut && sent < payload.length) {
        const n = sock.write(payload.subarray(sent, sent + 256 * 1024));
        if (n === -Errno.EAGAIN || n === 0) return;
        if (n < 0) return fail(`write: ${errnoName(n)}`);
        sent += n;
      }
      if (!shut) {
        shut = true;
        sock.shutdown(SHUT_WR);
        maybeDone();
      }
    };
    const drain = () => {
      for (;;) {
        const r = sock.read(256 * 1024);
        if (typeof r !== 'number') {
          hash.update(r);
          received += r.length;
          continue;
        }
        if (r === 0) {
          eof = true;
          maybeDone();
        } else if (r !== -Errno.EAGAIN) {
          fail(`read: ${errnoName(r)}`);
        }
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
      onError: (errno) => fail(`socket error ${errnoName(errno)}`),
    };
    if (startNow) {
      pump();
      drain();
    }
  });
}

/**
 * The Python side of a stream exchange: `connect` leaves a connected socket in `s`; then it sends
 * everything in the file, half-closes, and prints "<sha256> <bytes received>" of what came back.
 */
const pyExchange = (connect: string): string => `
import hashlib, socket, sys, threading
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, 'rb').read()
${connect}
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(262144)
    if not b:
        break
    h.update(b)
    n += len(b)
t.join()
s.close()
print(h.hexdigest(), n)
`;

/** Connects to host:port, then exchanges. */
const PY_CLIENT = pyExchange(`s = socket.create_connection((host, port), timeout=90)`);

/** Accepts one connection on host:port, then exchanges. */
const PY_SERVER = pyExchange(`ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port))
ls.listen(1)
ls.settimeout(90)
s, _ = ls.accept()
s.settimeout(90)`);

function parseShaLine(out: Buffer): StreamResult {
  const m = /^([0-9a-f]{64}) (\d+)\s*$/.exec(out.toString());
  if (!m) throw new Error(`unexpected program output: ${JSON.stringify(out.toString())}`);
  return { sha: m[1]!, bytes: Number(m[2]) };
}

/** RetransSegs from the namespace's /proc/net/snmp. */
function kernelTcpRetransmits(n: NetnsTap): number {
  const lines = n
    .execSync('cat', ['/proc/net/snmp'])
    .split('\n')
    .filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RetransSegs')]);
}

/**
 * What `tc qdisc add dev <tap> root netem loss <lossPct>% delay <delayMs>ms` does, for kernels built
 * without sch_netem: that qdisc acts on the frames the kernel sends out of the TAP, which are
 * exactly the frames this process reads from it, so they are dropped and delayed on arrival here,
 * before the stack sees them.
 */
function kernelEgressImpairment(stack: NetStack, lossPct: number, delayMs: number): FrameEndpoint {
  const random = new SeededRandom(0x2e7e3);
  return {
    input(frame) {
      if (random.u32() % 10_000 < lossPct * 100) return;
      setTimeout(() => stack.input(frame), delayMs);
    },
    setLinkOutput(send) {
      stack.setLinkOutput(send);
    },
  };
}

/** Adds the netem qdisc; false when this kernel has no netem (CONFIG_NET_SCH_NETEM unset). */
function addNetem(n: NetnsTap, lossPct: number, delayMs: number): boolean {
  try {
    n.execSync('tc', ['qdisc', 'add', 'dev', n.tapName, 'root', 'netem', 'loss', `${lossPct}%`, 'delay', `${delayMs}ms`]);
    return true;
  } catch (e) {
    if (/qdisc kind is unknown/i.test(String((e as { stderr?: unknown }).stderr ?? e))) return false;
    throw e;
  }
}

const requirement = combine(needRootNetns(), needPrograms('python3', 'curl', 'ping', 'tc'));

describe.runIf(requireOrSkip(requirement, 'kernel interop (TAP in a network namespace)'))('kernel interop over a TAP', () => {
  let net: NetnsTap | undefined;
  let link: TapLink | undefined;
  let stack: NetStack | undefined;
  let dir: string | undefined;

  afterEach(() => {
    link?.close();
    stack?.close();
    net?.cleanup();
    if (dir) removeDir(dir);
    link = stack = net = dir = undefined;
  });

  /** `impair`: loss 2% and delay 20 ms on the kernel side (netem, or its in-process equivalent). */
  async function setUp(impair = false): Promise<{ net: NetnsTap; stack: NetStack; payloadFile: string; payload: Buffer }> {
    net = createNetnsTap();
    // The TAP's MTU is the kernel default (1500), so the stack uses the same.
    stack = createNetStack({ scheduler: new RealScheduler(), mac: STACK_MAC, mtu: 1500, name: 'kernel-interop' });
    stack.addAddress(parseIpv4(net.stackIp)!, net.prefixLen);
    let endpoint: FrameEndpoint = stack;
    if (impair && !addNetem(net, 2, 20)) {
      process.stderr.write(
        "[kernel-interop] this kernel has no sch_netem: applying loss 2% delay 20ms to the kernel's TAP egress in the link reader instead\n",
      );
      endpoint = kernelEgressImpairment(stack, 2, 20);
    }
    link = attachTap(endpoint, net.fd);
    net.releaseFd();
    dir = tempDir('ztnc-kernel-');
    const payload = randomBytes(TRANSFER_BYTES);
    const payloadFile = join(dir, 'payload');
    writeFileSync(payloadFile, payload);
    return { net, stack, payloadFile, payload };
  }

  /** Kernel client (python3) to a stack server, 8 MB each way at once. */
  async function kernelClientToStackServer(t: { net: NetnsTap; stack: NetStack; payloadFile: string; payload: Buffer }) {
    const fromStack = randomBytes(TRANSFER_BYTES);
    const listener = t.stack.tcpSocket();
    expect(listener.bind(0, 9000)).toBe(0);
    expect(listener.listen(8)).toBe(0);
    const served = new Promise<StreamResult>((resolve, reject) => {
      listener.handlers = {
        onAcceptable: () => {
          const conn = listener.accept();
          if (conn) duplex(conn, fromStack, true).then(resolve, reject);
        },
      };
    });
    const client = await t.net.run('python3', ['-c', PY_CLIENT, t.net.stackIp, '9000', t.payloadFile], { timeoutMs: 150_000 });
    expect(client.stderr).toBe('');
    expect(client.code).toBe(0);
    const atStack = await served;
    listener.close();
    expect(parseShaLine(client.stdout)).toEqual({ sha: sha256(fromStack), bytes: TRANSFER_BYTES });
    expect(atStack).toEqual({ sha: sha256(t.payload), bytes: TRANSFER_BYTES });
  }

  /** Stack client to a kernel server (python3), 8 MB each way at once. */
  async function stackClientToKernelServer(t: { net: NetnsTap; stack: NetStack; payloadFile: string; payload: Buffer }) {
    const fromStack = randomBytes(TRANSFER_BYTES);
    const server = t.net.run('python3', ['-c', PY_SERVER, t.net.kernelIp, '9001', t.payloadFile], { timeoutMs: 150_000 });
    const kernelIp = parseIpv4(t.net.kernelIp)!;
    // The server may not be listening yet: a refused connect is retried.
    let atStack: StreamResult | undefined;
    for (let attempt = 0; attempt < 50 && !atStack; attempt++) {
      const sock = t.stack.tcpSocket();
      const rc = sock.connect(kernelIp, 9001);
      expect(rc).toBe(-Errno.EINPROGRESS);
      try {
        atStack = await duplex(sock, fromStack, false);
      } catch (e) {
        if (!String(e).includes('ECONNREFUSED')) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const res = await server;
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(parseShaLine(res.stdout)).toEqual({ sha: sha256(fromStack), bytes: TRANSFER_BYTES });
    expect(atStack).toEqual({ sha: sha256(t.payload), bytes: TRANSFER_BYTES });
  }

  it('kernel client (python3) to a stack server: 8 MB each way, SHA-256 checked', async () => {
    await kernelClientToStackServer(await setUp());
    expect(kernelNeighbour(net!, net!.stackIp)).toContain('02:7a:74:6e:63:22');
  });

  it('stack client to a kernel server (python3): 8 MB each way, SHA-256 checked', async () => {
    await stackClientToKernelServer(await setUp());
  });

  it('curl downloads 8 MB over HTTP from a stack server', async () => {
    const t = await setUp();
    const listener = t.stack.tcpSocket();
    expect(listener.bind(0, 8080)).toBe(0);
    expect(listener.listen(8)).toBe(0);
    const header = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${TRANSFER_BYTES}\r\nConnection: close\r\n\r\n`);
    const response = Buffer.concat([header, t.payload]);
    const served = new Promise<StreamResult>((resolve, reject) => {
      listener.handlers = {
        onAcceptable: () => {
          const conn = listener.accept();
          if (conn) duplex(conn, response, true).then(resolve, reject);
        },
      };
    });
    const res = await t.net.run('sh', ['-c', `curl -sS --fail --max-time 120 http://${t.net.stackIp}:8080/ | sha256sum`], {
      timeoutMs: 150_000,
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.toString().split(' ')[0]).toBe(sha256(t.payload));
    const request = await served;
    expect(request.bytes).toBeGreaterThan(0);
    listener.close();
  });

  it('answers ping -c 3 from the kernel', async () => {
    const t = await setUp();
    const res = await t.net.run('ping', ['-c', '3', '-i', '0.2', '-W', '2', t.net.stackIp], { timeoutMs: 20_000 });
    expect(res.code).toBe(0);
    expect(res.stdout.toString()).toMatch(/3 packets transmitted, 3 received/);
  });

  it('the same transfers with loss 2% delay 20ms on the kernel side (tc netem where the kernel has it)', async () => {
    const t = await setUp(true);
    await kernelClientToStackServer(t);
    await stackClientToKernelServer(t);
    // netem really dropped the kernel's segments: the kernel had to retransmit.
    expect(kernelTcpRetransmits(t.net)).toBeGreaterThan(0);
  }, 300_000);
});
