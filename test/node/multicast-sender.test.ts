/**
 * MulticastSender: frames for a group with no known subscriber wait (bounded) until a gather
 * result names members, then go to each of them as MULTICAST_FRAME.
 */
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/netstack/counters.js';
import { MulticastSender } from '../../src/node/network/multicast-sender.js';
import { BROADCAST_GROUP } from '../../src/node/network/multicast.js';
import { Node } from '../../src/node/node.js';
import { Verb } from '../../src/node/wire/packet.js';
import { ep, NWID, Sim } from './sim-harness.js';

describe('MulticastSender', () => {
  it('holds up to 16 frames while no member is known, then sends them to the members a gather names', () => {
    const sim = new Sim();
    const node = new Node(sim.nodeOptions(2, sim.board.attach(ep('10.99.0.3'))));
    const counters = new Counters();
    const sent: { member: bigint; verb: number }[] = [];
    const sender = new MulticastSender(node, {
      nwid: NWID,
      macInt: 0x32aa11223344n,
      counters,
      multicastLimit: () => 0,
      com: () => null,
      cutOff: (member) => member === 0x1111111111n,
      sendToMember: (member, verb) => void sent.push({ member, verb }),
    });
    const eth = { dst: Buffer.alloc(6, 0xff), src: Buffer.from('32aa11223344', 'hex'), etherType: 0x0806, payload: Buffer.alloc(28) };
    for (let i = 0; i < 17; i++) sender.send(BROADCAST_GROUP, eth);
    expect(sent).toHaveLength(0);
    expect(counters.get('drop_multicast_pending_full')).toBe(1);
    // a revoked member (cut off) gets nothing; ourselves neither
    sender.onGatherResult(BROADCAST_GROUP, [0x2222222222n, 0x1111111111n, node.address]);
    expect(sent).toEqual(Array.from({ length: 16 }, () => ({ member: 0x2222222222n, verb: Verb.MULTICAST_FRAME })));
    expect(counters.get('multicast_out')).toBe(16);
    // the member is remembered: the next frame goes at once
    sender.send(BROADCAST_GROUP, eth);
    expect(sent).toHaveLength(17);
  });
});
