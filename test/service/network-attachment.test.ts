/**
 * The interface view the node's Network drives: when access is refused (de-authorization, a
 * deleted network) it takes the interface down, and the connections on it fail at once with
 * ENETDOWN instead of waiting out TCP's retransmissions; listeners stay for when it comes back,
 * and a new connection is refused with ENETUNREACH (no route).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { VirtualScheduler } from '../../src/netstack/clock.js';
import { Errno } from '../../src/netstack/errno.js';
import { createNetStack } from '../../src/netstack/index.js';
import { SeededRandom } from '../../src/netstack/random.js';
import { NetworkAttachment } from '../../src/service/network-attachment.js';
import { ip } from '../support/netstack-rig.js';
import { tempDir } from './service-harness.js';

describe('network attachment interface view', () => {
  it('fails its connections with ENETDOWN when taken down; listeners stay; new connections get ENETUNREACH', () => {
    const sched = new VirtualScheduler();
    const att = new NetworkAttachment({
      nwid: '8056c2e21c000001',
      mac: Buffer.from([2, 0, 0, 0, 0, 1]),
      scheduler: sched,
      random: new SeededRandom(1),
      home: tempDir('ztnc-attach-'),
      serveDefaultPath: false,
      logger: pino({ level: 'silent' }),
    });
    const view = att.interfaceView();
    const peer = createNetStack({ scheduler: sched, random: new SeededRandom(2), mac: Buffer.from([2, 0, 0, 0, 0, 2]), name: 'peer' });
    view.setLinkOutput((f) => void sched.setTimer(1, () => peer.input(Buffer.from(f))));
    peer.setLinkOutput((f) => void sched.setTimer(1, () => att.stack.input(Buffer.from(f))));
    view.addAddress(ip(10, 0, 0, 1), 24);
    peer.addAddress(ip(10, 0, 0, 2), 24);

    const server = peer.tcpSocket();
    expect(server.bind(0, 80)).toBe(0);
    expect(server.listen(4)).toBe(0);
    const local = view.tcpSocket();
    expect(local.bind(0, 8080)).toBe(0);
    expect(local.listen(4)).toBe(0);
    const client = view.tcpSocket();
    let connected = false;
    let error = 0;
    client.handlers.onConnect = () => (connected = true);
    client.handlers.onError = (e) => (error = e);
    expect(client.connect(ip(10, 0, 0, 2), 80)).toBe(-Errno.EINPROGRESS);
    expect(sched.runUntil(() => connected, 1_000)).toBe(true);

    view.close();
    expect(error).toBe(Errno.ENETDOWN);
    expect(client.state).toBe('CLOSED');
    expect(local.state).toBe('LISTEN');
    expect(view.addresses()).toEqual([]);
    expect(view.tcpSocket().connect(ip(10, 0, 0, 2), 80)).toBe(-Errno.ENETUNREACH);
    void att.close();
  });

  it('takes the owned 6plane prefixes away with the interface (the stack lists none of its own)', () => {
    const att = new NetworkAttachment({
      nwid: '8056c2e21c000001',
      mac: Buffer.from([2, 0, 0, 0, 0, 1]),
      scheduler: new VirtualScheduler(),
      random: new SeededRandom(1),
      home: tempDir('ztnc-attach-'),
      serveDefaultPath: false,
      logger: pino({ level: 'silent' }),
    });
    const removed: string[] = [];
    const remove = att.stack.removeOwnedPrefix.bind(att.stack);
    att.stack.removeOwnedPrefix = (prefix, len) => {
      removed.push(`${prefix}/${len}`);
      remove(prefix, len);
    };
    const view = att.interfaceView();
    const a = 'fc9c56c2e3deadbeef01000000000000';
    const b = 'fc9c56c2e30123456789000000000000';
    view.addOwnedPrefix(a, 80);
    view.addOwnedPrefix(b, 80);
    view.removeOwnedPrefix(b, 80);
    expect(removed).toEqual([`${b}/80`]);
    view.close();
    expect(removed).toEqual([`${b}/80`, `${a}/80`]);
    void att.close();
  });
});
