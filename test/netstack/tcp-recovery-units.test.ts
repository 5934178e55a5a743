/** The loss recoveries (SACK and NewReno behind one interface) and the listener's queues, on their own. */
import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/netstack/counters.js';
import { TcpLossState } from '../../src/netstack/socket-api.js';
import { TcpListener, type ListenerChild } from '../../src/netstack/tcp/listener.js';
import { dupThresh } from '../../src/netstack/tcp/loss-recovery.js';
import { TcpOptions } from '../../src/netstack/tcp/options.js';
import { RenoRecovery } from '../../src/netstack/tcp/reno-recovery.js';
import { SackRecovery } from '../../src/netstack/tcp/sack-recovery.js';
import { TcpSegment } from '../../src/netstack/wire/tcp.js';

const MSS = 1000;
const UNA = 1000;
const NXT = 11_000; // ten segments in flight

function sackSegment(...blocks: [number, number][]): TcpSegment {
  const seg = new TcpSegment();
  seg.sackCount = blocks.length;
  blocks.forEach(([l, r], i) => {
    seg.sack[2 * i] = l;
    seg.sack[2 * i + 1] = r;
  });
  return seg;
}

describe('dupThresh (RFC 5827 early retransmit)', () => {
  it('is 3 from four segments in flight, fewer below', () => {
    expect(dupThresh(UNA, NXT, MSS)).toBe(3);
    expect(dupThresh(UNA, UNA + 4 * MSS, MSS)).toBe(3);
    expect(dupThresh(UNA, UNA + 3 * MSS, MSS)).toBe(2);
    expect(dupThresh(UNA, UNA + 2 * MSS, MSS)).toBe(1);
    expect(dupThresh(UNA, UNA + 10, MSS)).toBe(1);
  });
});

describe('RenoRecovery (RFC 6582)', () => {
  it('detects loss after DupThresh dupacks, resends the head, and a partial ACK marks the next segment', () => {
    const rec = new RenoRecovery(UNA);
    expect(rec.probesTail).toBe(false);
    for (let i = 0; i < 2; i++) rec.onDupAck(NXT - UNA, MSS);
    expect(rec.detectLoss(UNA, MSS, 3)).toBe(false);
    rec.onDupAck(NXT - UNA, MSS);
    expect(rec.detectLoss(UNA, MSS, 3)).toBe(true);
    rec.enterRecovery(UNA, NXT, MSS, 3);
    expect(rec.state).toBe(TcpLossState.Recovery);
    expect(rec.nextLost(UNA, NXT, MSS)).toBe(UNA);
    // 10 000 outstanding − 3 000 held (three dupacks) − the lost head
    expect(rec.pipe(UNA, NXT, MSS)).toBe(6000);
    rec.highRxt = UNA + MSS; // the head was resent
    expect(rec.nextLost(UNA, NXT, MSS)).toBe(-1);
    expect(rec.pipe(UNA, NXT, MSS)).toBe(7000);
    // partial ACK of the head: the next segment is lost too
    rec.onCumulativeAck(UNA + MSS);
    rec.onPartialAck(UNA + MSS, MSS, NXT, MSS);
    expect(rec.nextLost(UNA + MSS, NXT, MSS)).toBe(UNA + MSS);
    rec.exitRecovery();
    expect(rec.state).toBe(TcpLossState.Open);
    expect(rec.dupAcks).toBe(0);
    expect(rec.sackedBytes()).toBe(0);
    expect(rec.holeEnd(UNA, NXT)).toBe(NXT);
  });

  it('ignores SACK blocks and never reports a lost retransmission', () => {
    const rec = new RenoRecovery(UNA);
    const c = new Counters();
    rec.onSackBlocks(sackSegment([2000, 5000]), UNA, UNA, NXT, c);
    expect(rec.hasSacks()).toBe(false);
    expect(rec.detectLoss(UNA, MSS, 3)).toBe(false);
    rec.enterRecovery(UNA, NXT, MSS, 3);
    rec.headRetransmitted(UNA, 6000);
    expect(rec.headRetransmitLost(UNA, NXT, MSS)).toBe(false);
  });
});

describe('SackRecovery (RFC 6675)', () => {
  it('detects loss from SACKed bytes, resends only the hole and counts pipe without what the peer holds', () => {
    const rec = new SackRecovery(UNA);
    const c = new Counters();
    expect(rec.probesTail).toBe(true);
    rec.onSackBlocks(sackSegment([2000, 5000]), UNA, UNA, NXT, c);
    expect(rec.sackedBytes()).toBe(3000);
    expect(rec.detectLoss(UNA, MSS, 3)).toBe(true);
    rec.enterRecovery(UNA, NXT, MSS, 3);
    expect(rec.lossEdge(UNA, NXT, MSS)).toBe(2000);
    expect(rec.nextLost(UNA, NXT, MSS)).toBe(UNA);
    expect(rec.holeEnd(UNA, NXT)).toBe(2000);
    expect(rec.pipe(UNA, NXT, MSS)).toBe(6000);
  });

  it('counts D-SACKs and invalid blocks instead of adding them', () => {
    const rec = new SackRecovery(UNA);
    const c = new Counters();
    rec.onSackBlocks(sackSegment([500, 1000], [12_000, 13_000]), UNA, UNA, NXT, c);
    expect(c.get('rx_dsack')).toBe(1);
    expect(c.get('rx_sack_invalid')).toBe(1);
    expect(rec.sackedBytes()).toBe(0);
  });

  it('finds a lost retransmission of the head once data sent after it is SACKed well beyond', () => {
    const rec = new SackRecovery(UNA);
    const c = new Counters();
    rec.onSackBlocks(sackSegment([2000, 5000]), UNA, UNA, NXT, c);
    rec.enterRecovery(UNA, NXT, MSS, 3);
    rec.headRetransmitted(UNA, 6000);
    expect(rec.headRetransmitLost(UNA, NXT, MSS)).toBe(false);
    rec.onSackBlocks(sackSegment([6000, 10_000]), UNA, UNA, NXT, c);
    expect(rec.headRetransmitLost(UNA, NXT, MSS)).toBe(true);
    rec.reset(5000);
    expect(rec.state).toBe(TcpLossState.Open);
    expect(rec.sackedBytes()).toBe(0);
    expect(rec.hasSacks()).toBe(false);
  });

  it('an RTO takes the whole flight as lost', () => {
    const rec = new SackRecovery(UNA);
    rec.onRto(UNA, NXT);
    expect(rec.state).toBe(TcpLossState.Loss);
    expect(rec.lossEdge(UNA, NXT, MSS)).toBe(NXT);
    expect(rec.pipe(UNA, NXT, MSS)).toBe(0);
  });
});

class Child implements ListenerChild {
  accepted = false;
  parent: object | null = null;
  resets = 0;
  resetAndClose(): void {
    this.resets++;
  }
}

describe('TcpListener', () => {
  it('queues established children for accept(), bounded by the backlog, and resets the rest on close', () => {
    let acceptable = 0;
    const opts = new TcpOptions();
    const l = new TcpListener<Child>(1, opts, () => acceptable++);
    const a = new Child();
    const b = new Child();
    a.parent = l;
    b.parent = l;
    l.addEmbryonic(a);
    l.addEmbryonic(b);
    l.established(a);
    expect(acceptable).toBe(1);
    expect(l.acceptQueueFull()).toBe(true);
    expect(l.full()).toBe(true);
    expect(l.accept()).toBe(a);
    expect(a.accepted).toBe(true);
    expect(a.parent).toBe(null);
    expect(l.accept()).toBe(null);
    expect(l.forget(b, false)).toBe(false);
    l.addEmbryonic(b);
    l.close();
    expect(b.resets).toBe(1);
    l.established(new Child());
    expect(acceptable).toBe(1);
    expect(l.accept()).toBe(null);
  });

  it('children start with the listener options, except SO_REUSEPORT', () => {
    const opts = new TcpOptions();
    expect(opts.set('NODELAY', 1)).toBe(0);
    expect(opts.set('REUSEPORT', 1)).toBe(0);
    expect(opts.set('TTL', 9)).toBe(0);
    expect(opts.set('CONGESTION', 1)).toBe(0);
    const child = opts.forChild();
    expect(child.nodelay).toBe(true);
    expect(child.reusePort).toBe(false);
    expect(child.sendOpts).toBe(opts.sendOpts);
    expect(child.get('TTL', 1000)).toBe(9);
    expect(child.get('CONGESTION', 1000)).toBe(1);
    expect(opts.set('CONGESTION', 3)).toBeLessThan(0); // past cubic, reno, bbr
  });
});
