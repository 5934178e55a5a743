/**
 * Opening a connection (as gVisor's connect.go): the clean slate for an attempt (ISN, timestamp
 * offset, window scale, initial MSS and congestion window), the options negotiated from the
 * peer's SYN (MSS, window scale, SACK — which picks the loss recovery — and timestamps), the
 * passive open for a listener's child, SYN_SENT processing (including simultaneous open), and
 * the step to ESTABLISHED. Arriving segments enter the connection here (`segmentArrived`).
 */
import type { IpAddr } from '../addr.js';
import { Errno } from '../errno.js';
import type { TcpStateName } from '../socket-api.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../wire/tcp.js';
import { DEFAULT_MSS, MAX_WSCALE, wscaleFor } from './constants.js';
import { EV_CONNECT, EV_WRITABLE, type TcpControlBlock } from './control-block.js';
import type { TcpListener } from './listener.js';
import { TcpReceiver } from './receiver.js';
import { RackRecovery } from './rack.js';
import { RenoRecovery } from './reno-recovery.js';
import { SackRecovery } from './sack-recovery.js';
import { seqAdd, seqGt, seqLeq } from './seq.js';

export abstract class TcpHandshake extends TcpReceiver {
  /** A segment for this connection (already checksummed and demultiplexed). */
  segmentArrived(seg: TcpSegment): void {
    this.statSegsIn++;
    switch (this._state) {
      case 'SYN_SENT':
        this.synSentArrived(seg);
        break;
      case 'CLOSED':
      case 'LISTEN':
        break;
      default:
        this.synchronizedArrived(seg);
        break;
    }
    if (this.ackNow) {
      if (this._state !== 'CLOSED') this.sendAck();
      else this.ackNow = false;
    } else if (this.ackSoon && !this.port.deferAck(this)) {
      if (this._state !== 'CLOSED') this.sendAck();
    }
    this.armTimer();
  }

  protected setupOutgoing(): void {
    // a socket may connect again after a failed attempt: start from a clean slate
    this.finQueued = false;
    this.finSent = false;
    this.synAcked = false;
    this.wrShut = false;
    this.rdShut = false;
    this.retries = 0;
    this.rtxStart = -1;
    this.rttTime = -1;
    this.tlp = false;
    this.probe.clear();
    this.reoAt = Infinity;
    this.prr.stop();
    this.undo.clear();
    this.frto.stop();
    this.persist = false;
    this.ooo.clear();
    this.rcvQueue.clear();
    this.rtt.resetBackoff();
    this.sndWnd = 0;
    this.maxSndWnd = 0;
    this.iss = this.port.isn.next(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.tsOffset = this.port.isn.tsOffset(this.localAddr, this.localPort, this.remoteAddr, this.remotePort);
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    // HyStart++'s first round ends with the first ACK (a round end of 0 would be "ahead" of an ISN in the upper half of the sequence space)
    this.hsRoundEnd = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.rec.reset(this.iss);
    this.ecn.reset(this.iss);
    this.rcvShift = wscaleFor(this.opts.rcvBufSize);
    const mss = this.ourMss();
    this.mss = Math.min(mss, DEFAULT_MSS);
    this.resetCongestion();
    this.lastRcvTime = this.port.scheduler.now();
  }

  /** Options from the peer's SYN (or SYN-ACK). */
  protected negotiate(seg: TcpSegment, active: boolean): void {
    this.peerMss = seg.mss > 0 ? seg.mss : DEFAULT_MSS;
    if (seg.wscale >= 0 && (active ? this.wsOffered : true)) {
      this.sndShift = Math.min(seg.wscale, MAX_WSCALE);
      this.wsOffered = true;
    } else {
      this.sndShift = 0;
      this.rcvShift = 0;
      this.wsOffered = false;
    }
    this.sackEnabled = seg.sackPermitted;
    // loss recovery follows what the peer agreed to, from a clean state (the handshake has no losses to carry)
    // with SACK, RACK-TLP (RFC 8985) unless the socket turned it off (RECOVERY 0: RFC 6675 alone)
    const highRxt = this.rec.highRxt;
    if (!this.sackEnabled) this.rec = new RenoRecovery(highRxt);
    else if (this.opts.recovery !== 0) this.rec = new RackRecovery(highRxt);
    else this.rec = new SackRecovery(highRxt);
    this.rec.reset(this.iss);
    this.rec.highRxt = highRxt;
    // ECN (RFC 3168 §6.1.1): a SYN with ECE and CWR asks; a SYN-ACK with ECE alone agrees
    const ecnFlags = seg.flags & (TCP_ECE | TCP_CWR);
    this.ecn.ok = this.opts.ecn === 1 && ecnFlags === (active ? TCP_ECE : TCP_ECE | TCP_CWR);
    this.tsEnabled = seg.hasTimestamp;
    if (this.tsEnabled) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAge = this.port.scheduler.now();
    }
    this.updateMss();
  }

  /**
   * Called by the layer for a SYN arriving at `listener` (this connection was made with the
   * listener's options and is in its SYN queue).
   */
  passiveOpen(listener: TcpListener<TcpControlBlock>, seg: TcpSegment, localAddr: IpAddr, localPort: number, remoteAddr: IpAddr): void {
    this.parent = listener;
    this.localAddr = localAddr;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = seg.srcPort;
    this.everConnected = true;
    this.setupOutgoing();
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.lastAckSent = this.rcvNxt;
    this.wsOffered = seg.wscale >= 0;
    this.negotiate(seg, false);
    this.sndWnd = seg.window; // SYN windows are never scaled
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this._state = 'SYN_RECEIVED';
    this.sendSyn(true);
    this.startRtx(this.rtt.current());
    this.armTimer();
  }

  protected synSentArrived(seg: TcpSegment): void {
    const f = seg.flags;
    const c = this.port.counters;
    if (f & TCP_ACK) {
      // RFC 9293: SEG.ACK =< ISS or SEG.ACK > SND.NXT → unacceptable
      if (seqLeq(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        c.inc('rx_synack_bad_ack');
        if (!(f & TCP_RST)) this.port.sendRstFor(this.localAddr, this.remoteAddr, this.localPort, this.remotePort, seg.ack, 0, false);
        return;
      }
    }
    if (f & TCP_RST) {
      if (f & TCP_ACK) {
        c.inc('rx_rst');
        this.fail(Errno.ECONNREFUSED);
      } else c.inc('rx_rst_ignored');
      return;
    }
    if (!(f & TCP_SYN)) {
      c.inc('rx_syn_sent_no_syn');
      return;
    }
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.negotiate(seg, true);
    this.lastRcvTime = this.port.scheduler.now();
    if (f & TCP_ACK) {
      this.synAcked = true;
      this.sndUna = seg.ack;
      this.rec.highRxt = seg.ack;
      this.sndWnd = seg.window; // SYN-ACK window is not scaled
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.rtxAt = Infinity;
      this.retries = 0;
      this.rtxStart = -1;
      if (this.rttTime >= 0 && !this.tsEnabled) this.rtt.sample(this.port.scheduler.now() - this.rttTime);
      else if (this.tsEnabled && seg.tsEcr !== 0) this.rtt.sample(this.tsNow() - seg.tsEcr);
      this.rttTime = -1;
      this.rtt.resetBackoff();
      this.resetCongestion();
      this.rcvAdvRight = this.rcvNxt;
      this.establish();
      // data on the SYN-ACK is unusual; process it like any segment after the SYN
      if (seg.dataLen > 0 || seg.flags & TCP_FIN) {
        seg.seq = seqAdd(seg.seq, 1);
        seg.flags &= ~TCP_SYN;
        this.processData(seg);
      }
      this.ackNow = true;
    } else {
      // simultaneous open
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = this.iss;
      this.rcvAdvRight = this.rcvNxt;
      this._state = 'SYN_RECEIVED';
      this.port.counters.inc('simultaneous_open');
      this.sendSyn(true);
      this.startRtx(this.rtt.current());
    }
  }

  protected establish(): void {
    this._state = 'ESTABLISHED';
    this.lastRcvTime = this.port.scheduler.now();
    this.keepaliveProbes = 0;
    const p = this.parent;
    if (p) {
      p.established(this);
    } else {
      this.queueEvent(EV_CONNECT | EV_WRITABLE);
    }
    if (this.wrShut && !this.finQueued) this.queueFin();
    this.output();
  }

  /**
   * The ACK of a segment arriving in SYN_RECEIVED: completes the passive open (or a simultaneous
   * open). Returns false when the segment must be dropped.
   */
  protected synReceivedAcked(seg: TcpSegment, seq: number, now: number): boolean {
    const c = this.port.counters;
    if (seqGt(seg.ack, this.sndUna) && seqLeq(seg.ack, this.sndNxt)) {
      const p = this.parent;
      if (p && p.acceptQueueFull()) {
        // accept queue full: drop the ACK and stay in SYN_RECEIVED; our SYN-ACK retransmission
        // makes the peer ACK again later (as Linux does)
        c.inc('listen_overflow');
        return false;
      }
      this.synAcked = true;
      this.sndUna = seqAdd(this.sndUna, 1);
      this.rec.highRxt = this.sndUna;
      this.sndWnd = seg.window << this.sndShift;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seq;
      this.sndWl2 = seg.ack;
      this.rtxAt = Infinity;
      this.retries = 0;
      this.rtxStart = -1;
      if (this.tsEnabled && seg.hasTimestamp && seg.tsEcr !== 0) this.rtt.sample(this.tsNow() - seg.tsEcr);
      else if (this.rttTime >= 0) this.rtt.sample(now - this.rttTime);
      this.rttTime = -1;
      this.rtt.resetBackoff();
      this.resetCongestion();
      this.establish();
      return (this._state as TcpStateName) !== 'CLOSED';
    } else {
      c.inc('rx_bad_ack_syn_received');
      this.port.sendRstFor(this.localAddr, this.remoteAddr, this.localPort, this.remotePort, seg.ack, 0, false);
      return false;
    }
  }
}
