/**
 * TAP devices through the binding, against the real kernel: a namespace whose TAP fd stays here,
 * and a tiny hand-written ARP + ICMP echo responder on that fd, so the kernel's `ping` of the
 * responder's address only succeeds if frames are both read from and written to the TAP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  isSystemError,
  openTap,
  recvFds,
  sendFds,
  socketpair,
  tapDevice,
  type SystemError,
  type TapDevice,
} from '../../src/native/binding.js';
import { parseIpv4, parseMac } from '../../src/netstack/addr.js';
import { checksum } from '../../src/netstack/wire/checksum.js';
import { createNetnsTap, kernelNeighbour, type NetnsTap } from '../netstack/kernel-netns.js';
import { needRootNetns, needPrograms, combine, requireOrSkip } from '../support/requirements.js';

const RESPONDER_MAC = parseMac('02:7a:74:6e:63:02')!;

/** Answers ARP requests for `ip` and ICMP echo requests to it; counts what it saw. */
function responder(dev: () => TapDevice, ip: number) {
  const seen = { arpRequests: 0, echoRequests: 0, other: 0 };
  const onFrames = (frames: Buffer[]) => {
    const replies: Buffer[] = [];
    for (const f of frames) {
      if (f.length < 14) continue;
      const type = f.readUInt16BE(12);
      if (type === 0x0806 && f.length >= 42 && f.readUInt16BE(20) === 1 && f.readUInt32BE(38) === ip) {
        seen.arpRequests++;
        const r = Buffer.alloc(42);
        f.copy(r, 0, 6, 12);
        RESPONDER_MAC.copy(r, 6);
        r.writeUInt16BE(0x0806, 12);
        r.writeUInt16BE(1, 14);
        r.writeUInt16BE(0x0800, 16);
        r[18] = 6;
        r[19] = 4;
        r.writeUInt16BE(2, 20);
        RESPONDER_MAC.copy(r, 22);
        r.writeUInt32BE(ip, 28);
        f.copy(r, 32, 22, 28);
        f.copy(r, 38, 28, 32);
        replies.push(r);
      } else if (type === 0x0800 && f.length >= 34 && f[23] === 1 && f.readUInt32BE(30) === ip) {
        const ihl = (f[14]! & 0x0f) * 4;
        const total = f.readUInt16BE(16);
        const icmp = 14 + ihl;
        if (f[icmp] !== 8) continue;
        seen.echoRequests++;
        const r = Buffer.from(f.subarray(0, 14 + total));
        f.copy(r, 0, 6, 12);
        RESPONDER_MAC.copy(r, 6);
        r.writeUInt32BE(f.readUInt32BE(30), 26);
        r.writeUInt32BE(f.readUInt32BE(26), 30);
        r[22] = 64;
        r.writeUInt16BE(0, 24);
        r.writeUInt16BE(checksum(r, 14, 14 + ihl), 24);
        r[icmp] = 0;
        r.writeUInt16BE(0, icmp + 2);
        r.writeUInt16BE(checksum(r, icmp, 14 + total), icmp + 2);
        replies.push(r);
      } else {
        seen.other++;
      }
    }
    if (replies.length === 1) dev().write(replies[0]!);
    else if (replies.length > 1) dev().writev(replies);
  };
  return { seen, onFrames };
}

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('ping')), 'native TAP device'))('native TAP device', () => {
  let net: NetnsTap | undefined;
  let dev: TapDevice | undefined;

  afterEach(() => {
    dev?.close();
    dev = undefined;
    net?.cleanup();
    net = undefined;
  });

  it('reads the kernel’s frames and writes replies it accepts (ping through a hand-written responder)', async () => {
    net = createNetnsTap();
    const ip = parseIpv4(net.stackIp)!;
    const r = responder(() => dev!, ip);
    dev = tapDevice(net.fd, r.onFrames);
    net.releaseFd();

    const res = await net.run('ping', ['-c', '3', '-i', '0.2', '-W', '2', net.stackIp], { timeoutMs: 15_000 });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.toString()).toMatch(/3 received/);
    expect(r.seen.arpRequests).toBeGreaterThanOrEqual(1);
    expect(r.seen.echoRequests).toBe(3);
    expect(kernelNeighbour(net, net.stackIp)).toContain('02:7a:74:6e:63:02');

    const stats = dev.stats();
    expect(stats.framesIn).toBeGreaterThanOrEqual(4);
    expect(stats.framesOut).toBe(r.seen.arpRequests + 3);
    expect(stats.writeDrops).toBe(0);
  });

  it('pause() stops delivery and resume() restarts it', async () => {
    net = createNetnsTap();
    const ip = parseIpv4(net.stackIp)!;
    const r = responder(() => dev!, ip);
    let batches = 0;
    dev = tapDevice(
      net.fd,
      (frames) => {
        batches++;
        r.onFrames(frames);
      },
      { batch: 8 },
    );
    net.releaseFd();
    dev.pause();
    // While paused nothing answers ARP, so this ping must fail.
    const first = await net.run('ping', ['-c', '1', '-W', '1', net.stackIp], { timeoutMs: 10_000 });
    expect(first.code).not.toBe(0);
    expect(batches).toBe(0);
    dev.resume();
    const second = await net.run('ping', ['-c', '2', '-i', '0.2', '-W', '2', net.stackIp], { timeoutMs: 10_000 });
    expect(second.code).toBe(0);
    expect(batches).toBeGreaterThan(0);
  });

  it('rejects bad use with errno errors instead of crashing', async () => {
    net = createNetnsTap();
    dev = tapDevice(net.fd, () => {});
    net.releaseFd();
    expect(() => dev!.write('nope' as unknown as Buffer)).toThrow(TypeError);
    dev.close();
    let err: unknown;
    try {
      dev.write(Buffer.alloc(60));
    } catch (e) {
      err = e;
    }
    expect(isSystemError(err) && (err as SystemError).code).toBe('EBADF');
    dev.close();
    // A name longer than IFNAMSIZ - 1 is refused before the kernel sees it.
    let long: unknown;
    try {
      openTap('x'.repeat(20));
    } catch (e) {
      long = e;
    }
    expect(isSystemError(long) && (long as SystemError).code).toBe('EINVAL');
  });
});

// The TapDevice machinery (readiness, batching, one write per frame) works on any message-oriented
// fd; a seqpacket pair stands in for the TAP so it is tested without root as well.
describe('TapDevice over a seqpacket pair (no root needed)', () => {
  it('delivers every frame in order, in batches no larger than asked', async () => {
    const [peer, fd] = socketpair('seqpacket');
    const sizes: number[] = [];
    const got: number[] = [];
    const all = new Promise<void>((resolve) => {
      const dev = tapDevice(
        fd!,
        (frames) => {
          sizes.push(frames.length);
          for (const f of frames) got.push(f.readUInt32BE(0));
          if (got.length === 100) {
            dev.close();
            resolve();
          }
        },
        { batch: 8 },
      );
    });
    for (let i = 0; i < 100; i++) {
      const f = Buffer.alloc(60 + i);
      f.writeUInt32BE(i, 0);
      expect(sendFds(peer!, f, [])).toBe(f.length);
    }
    await all;
    closeFd(peer!);
    expect(got).toEqual([...Array(100).keys()]);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    // All 100 were queued before the first read, so they came in full batches.
    expect(sizes.length).toBe(13);
  });

  it('write and writev send one frame each and count them', () => {
    const [peer, fd] = socketpair('seqpacket');
    const dev = tapDevice(fd!, () => {});
    expect(dev.write(Buffer.from('frame-0'))).toBe(true);
    expect(dev.writev([Buffer.from('frame-1'), Buffer.from('frame-22')])).toBe(2);
    expect([0, 1, 2].map(() => recvFds(peer!, 100, 0)?.data.toString())).toEqual(['frame-0', 'frame-1', 'frame-22']);
    expect(dev.stats()).toMatchObject({ framesOut: 3, bytesOut: 7 + 7 + 8, writeDrops: 0 });
    // A full socket is a counted drop, not a throw.
    let sent = 0;
    while (dev.write(Buffer.alloc(4096)) && sent < 100_000) sent++;
    expect(dev.stats().writeDrops).toBe(1);
    expect(dev.stats().lastWriteErrno).toBe(11);
    dev.close();
    closeFd(peer!);
  });

  it('reports a read failure through onError and stops reading', async () => {
    const [peer, fd] = socketpair('stream');
    // A peer that vanishes with unread data makes the next read fail with ECONNRESET.
    sendFds(fd!, Buffer.from('unread'), []);
    const err = new Promise<SystemError>((resolve) => {
      const dev = tapDevice(fd!, () => {}, { onError: (e) => (dev.close(), resolve(e)) });
    });
    closeFd(peer!);
    const e = await err;
    expect(e.code).toBe('ECONNRESET');
    expect(e.syscall).toBe('read');
  });

  it('reports end of file once instead of polling a dead fd forever', async () => {
    const [peer, fd] = socketpair('stream');
    let reports = 0;
    const dev = tapDevice(fd!, () => {}, { onError: () => reports++ });
    closeFd(peer!);
    await new Promise((r) => setTimeout(r, 100));
    expect(reports).toBe(1);
    expect(dev.stats().readErrors).toBe(1);
    dev.close();
  });
});
