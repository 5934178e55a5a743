/**
 * Namespace mode in the daemon's network attachment (root: a TAP in a network namespace this test
 * creates): with a TAP attached, the frames the network delivers go to the namespace's kernel
 * instead of the userspace stack, and the kernel's frames go to the network as the stack's would;
 * detached, the stack carries the network again.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { NetworkAttachment } from '../../src/service/network-attachment.js';
import { createNetnsTap, type NetnsTap } from '../netstack/kernel-netns.js';
import { needRootNetns, requireOrSkip } from '../support/requirements.js';
import { tempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const MEMBER_MAC = Buffer.from([0x02, 0x5a, 0, 0, 0, 0x02]);
const BROADCAST = Buffer.alloc(6, 0xff);

function ipBytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

const OTHER_MAC = Buffer.from([0x02, 0x5a, 0, 0, 0, 0x09]);

/** An ARP request from `mac` at `sender` asking who has `target`. */
function arpRequest(sender: string, target: string, mac = MEMBER_MAC): Buffer {
  const f = Buffer.alloc(42);
  BROADCAST.copy(f, 0);
  mac.copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  mac.copy(f, 22);
  ipBytes(sender).copy(f, 28);
  ipBytes(target).copy(f, 38);
  return f;
}

/** The ARP reply among `frames` that says where `ip` is; its sender MAC. */
function arpReplyFor(frames: Buffer[], ip: string): Buffer | null {
  const f = frames.find(
    (x) => x.length >= 42 && x.readUInt16BE(12) === 0x0806 && x.readUInt16BE(20) === 2 && x.subarray(28, 32).equals(ipBytes(ip)),
  );
  return f ? Buffer.from(f.subarray(22, 28)) : null;
}

describe.runIf(requireOrSkip(needRootNetns(), 'namespace mode TAP'))('namespace mode: network attachment with a TAP', () => {
  let tap: NetnsTap | null = null;
  afterEach(() => tap?.cleanup());

  it('carries the network through the TAP while attached, and through the stack again when detached', async () => {
    const sched = new VirtualScheduler();
    const att = new NetworkAttachment({
      nwid: '8056c2e21c000001',
      mac: MEMBER_MAC,
      scheduler: sched,
      random: new SeededRandom(1),
      home: tempDir('ztnc-tapmode-'),
      serveDefaultPath: false,
      logger: pino({ level: 'silent' }),
    });
    const view = att.interfaceView();
    const toNetwork: Buffer[] = [];
    view.setLinkOutput((f) => void toNetwork.push(Buffer.from(f)));
    const t = createNetnsTap();
    tap = t;
    // the stack keeps the member's address in namespace mode (it names the ARP group) but answers nothing
    view.addAddress(((10 << 24) | (77 << 16) | (Number(t.stackIp.split('.')[2]) << 8) | 2) >>> 0, 24);
    expect(att.mode).toBe('library');

    att.attachTap(t.fd, t.tapName, () => {});
    t.releaseFd();
    expect(att.mode).toBe('namespace');
    expect(att.portDeviceName).toBe(t.tapName);

    // network → namespace: the kernel answers an ARP request for its address
    view.input(arpRequest(t.stackIp, t.kernelIp));
    const kernelMac = await waitFor(() => arpReplyFor(toNetwork, t.kernelIp), 10_000, "the kernel's ARP reply");
    expect(kernelMac.equals(MEMBER_MAC)).toBe(false);
    // namespace → network: the kernel's echo request to the member leaves through the network
    await t.run('ping', ['-c', '1', '-W', '1', t.stackIp]);
    const echo = toNetwork.find((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f.subarray(30, 34).equals(ipBytes(t.stackIp)));
    expect(echo?.subarray(0, 6).equals(MEMBER_MAC)).toBe(true);
    // the stack heard none of it: a request for the member's own address went to the kernel, which does not own it
    toNetwork.length = 0;
    view.input(arpRequest(t.kernelIp, t.stackIp, OTHER_MAC));
    await t.run('true', []);
    sched.runUntil(() => arpReplyFor(toNetwork, t.stackIp) !== null, 1_000);
    expect(arpReplyFor(toNetwork, t.stackIp)).toBeNull();

    att.detachTap();
    expect(att.mode).toBe('library');
    expect(att.portDeviceName).toBe(att.socketPath);
    view.input(arpRequest(t.kernelIp, t.stackIp, OTHER_MAC));
    await Promise.resolve(); // the receive burst ends in a microtask
    sched.runUntil(() => arpReplyFor(toNetwork, t.stackIp) !== null, 1_000);
    expect(arpReplyFor(toNetwork, t.stackIp)?.equals(MEMBER_MAC)).toBe(true);
    await att.close();
  });
});
