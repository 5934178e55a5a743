/**
 * The receiving half of a connection (as gVisor's rcv.go): segment acceptability in synchronized
 * states (RFC 9293 §3.10.7.4), PAWS (RFC 7323), RST and SYN checks with challenge ACKs (RFC 5961),
 * in-order data into the receive queue and out-of-order data into reassembly, D-SACK reports
 * (RFC 2883), the FIN, the delayed/stretch ACK policy and window updates after reads.
 */
import { Errno } from '../errno.js';
import type { TcpSegment } from '../wire/tcp.js';
import { TCP_ACK, TCP_CWR, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.js';
import { TcpAckProcessor } from './ack.js';
import { DELACK_MS, PAWS_IDLE_MS, SMALL_SEGMENT_COPY } from './constants.js';
import { EV_READABLE } from './control-block.js';
import { seqAdd, seqDiff, seqGeq, seqLeq, seqLt } from './seq.js';
import { finsExchanged, receivesData } from './state.js';

export abstract class TcpReceiver extends TcpAckProcessor {
  private readonly pushOrdered = (b: Buffer): void => {
    this.rcvQueue.push(b);
  };

  /**
   * The ACK of a segment arriving in SYN_RECEIVED (handshake.ts): completes the passive open.
   * Returns false when the segment must be dropped.
   */
  protected abstract synReceivedAcked(seg: TcpSegment, seq: number, now: number): boolean;

  /** Remembers a duplicate [seq, seq+len) to report as D-SACK, when the peer understands SACK. */
  private reportDuplicate(seq: number, len: number): void {
    if (!this.sackEnabled) return;
    this.dsackLeft = seq;
    this.dsackRight = seqAdd(seq, len);
    this.hasDsack = true;
  }

  /** The end of a receive burst: the stretch ACK, unless a segment sent since carried it. */
  flushStretchAck(): void {
    if (!this.ackSoon) return;
    if (this._state === 'CLOSED') {
      this.ackSoon = false;
      return;
    }
    this.sendAck();
    this.armTimer();
  }

  protected synchronizedArrived(seg: TcpSegment): void {
    const c = this.port.counters;
    const now = this.port.scheduler.now();
    let f = seg.flags;
    const seq = seg.seq;
    let dataLen = seg.dataEnd - seg.dataStart;

    // SYN_RECEIVED: a retransmitted SYN from the peer gets our SYN-ACK again
    if (this._state === 'SYN_RECEIVED' && f & TCP_SYN && !(f & TCP_ACK) && seq === this.irs) {
      c.inc('rx_syn_retransmit');
      this.sendSyn(true);
      return;
    }

    // PAWS (RFC 7323 §5.3)
    if (this.tsEnabled && seg.hasTimestamp && !(f & TCP_RST) && seqLt(seg.tsVal, this.tsRecent)) {
      if (now - this.tsRecentAge > PAWS_IDLE_MS) {
        this.tsRecent = seg.tsVal;
      } else {
        c.inc('rx_paws_drop');
        this.oowAck(dataLen > 0 || (f & (TCP_SYN | TCP_FIN)) !== 0);
        return;
      }
    }

    // acceptability (RFC 9293 §3.10.7.4)
    const segLen = dataLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
    const wnd = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    let ok: boolean;
    let zeroWindowAck = false;
    const d = seqDiff(seq, this.rcvNxt);
    if (segLen === 0) ok = wnd === 0 ? d === 0 : d >= 0 && d < wnd;
    else if (wnd === 0) {
      ok = false;
      if (d === 0 && f & TCP_ACK) zeroWindowAck = true;
    } else {
      const de = d + segLen - 1;
      ok = (d >= 0 && d < wnd) || (de >= 0 && de < wnd) || (d < 0 && de >= wnd);
    }
    if (!ok && !zeroWindowAck) {
      if (f & TCP_RST) {
        c.inc('rx_rst_out_of_window');
        return;
      }
      if (d < 0 && d + segLen <= 0 && dataLen > 0) {
        // a complete duplicate: report it as D-SACK (RFC 2883)
        c.inc('rx_duplicate');
        this.reportDuplicate(seq, dataLen);
        this.ackNow = true;
      } else {
        c.inc('rx_out_of_window');
        this.oowAck(dataLen > 0 || (f & (TCP_SYN | TCP_FIN)) !== 0);
        if (this._state === 'TIME_WAIT' && f & TCP_FIN) this.port.restartTimeWait(this);
      }
      // RFC 9293: unacceptable → ACK and drop (but keep window/ACK info of in-window old segments out)
      return;
    }
    if (zeroWindowAck) {
      // process the ACK of a data segment arriving when our window is zero; drop its data
      c.inc('rx_zero_window_drop');
      dataLen = 0;
      f &= ~(TCP_FIN | TCP_SYN);
      this.ackNow = true;
    }

    this.lastRcvTime = now;
    this.keepaliveProbes = 0;

    // RST (RFC 5961 §3); in TIME_WAIT RSTs are ignored (RFC 1337, no TIME-WAIT assassination)
    if (f & TCP_RST) {
      if (this._state === 'TIME_WAIT') {
        c.inc('rx_rst_time_wait_ignored');
        return;
      }
      if (seq === this.rcvNxt) {
        c.inc('rx_rst');
        this.onReset();
      } else {
        this.challengeAck();
      }
      return;
    }
    // SYN in a synchronized state (RFC 5961 §4)
    if (f & TCP_SYN) {
      this.challengeAck();
      return;
    }
    if (!(f & TCP_ACK)) {
      c.inc('rx_no_ack');
      return;
    }

    // timestamps: remember the peer's (RFC 7323 §4.3)
    if (this.tsEnabled && seg.hasTimestamp && seqGeq(seg.tsVal, this.tsRecent) && seqLeq(seq, this.lastAckSent)) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAge = now;
    }

    // ECN: a Congestion Experienced mark is echoed until the sender's CWR (ACKed at once when new)
    if (this.ecn.ok && this.ecn.onSegment(this.rxEcn, (f & TCP_CWR) !== 0) && dataLen > 0) this.ackNow = true;
    // ACK
    if (this._state === 'SYN_RECEIVED' && !this.synReceivedAcked(seg, seq, now)) return;
    if (!this.processAck(seg, seq, dataLen, f)) return;
    if (this._state === 'CLOSED' || (this._state === 'TIME_WAIT' && !(f & TCP_FIN))) return;

    // data and FIN
    if (dataLen > 0 || f & TCP_FIN) {
      if (zeroWindowAck) return;
      seg.flags = f;
      this.processData(seg);
    }
  }

  protected processData(seg: TcpSegment): void {
    const s = this._state;
    const c = this.port.counters;
    let seq = seg.seq;
    let start = seg.dataStart;
    let end = seg.dataEnd;
    let fin = (seg.flags & TCP_FIN) !== 0;
    if (!receivesData(s)) {
      // CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT: data is ignored; a FIN retransmission is re-ACKed
      if (end > start) c.inc('rx_data_after_fin');
      if (fin || end > start) this.ackNow = true;
      if (s === 'TIME_WAIT' && fin) this.port.restartTimeWait(this);
      return;
    }
    if (this.userClosed && this.rdShut && end > start && seqGeq(seqAdd(seq, end - start), this.rcvNxt) && s !== 'ESTABLISHED') {
      // data for a socket the application closed: RST (as Linux)
      c.inc('rx_data_after_close');
      this.resetAndClose(0);
      return;
    }
    // trim what we already have
    const d = seqDiff(this.rcvNxt, seq);
    if (d > 0) {
      const origLen = end - start;
      if (d >= origLen) {
        if (origLen > 0) this.reportDuplicate(seq, origLen);
        if (d > origLen) fin = false; // the FIN is old as well
        start = end;
        seq = this.rcvNxt;
        if (!fin) {
          this.ackNow = true;
          return;
        }
      } else {
        start += d;
        seq = this.rcvNxt;
      }
    }
    // trim what lies beyond the window we advertised
    const room = seqDiff(this.rcvAdvRight, seq);
    if (end - start > room) {
      c.inc('rx_trimmed_beyond_window');
      end = start + Math.max(0, room);
      fin = false;
    }
    const len = end - start;
    if (seq === this.rcvNxt) {
      if (len > 0) {
        const view = seg.buf.subarray(start, end);
        if (this.rdShut) {
          // SHUT_RD: acknowledged and discarded
        } else if (len < SMALL_SEGMENT_COPY) this.rcvQueue.pushCopy(view);
        else this.rcvQueue.push(view);
        this.rcvNxt = seqAdd(this.rcvNxt, len);
        this.statBytesReceived += len;
        // in-sequence data: the peer heard our window, so it is reachable (BSD's ND6_HINT)
        if (typeof this.remoteAddr === 'string') this.hintReachable(this.port.scheduler.now());
        if (!this.ooo.empty) {
          const before = this.rcvNxt;
          this.rcvNxt = this.ooo.drain(this.rcvNxt, this.pushOrdered);
          this.statBytesReceived += seqDiff(this.rcvNxt, before);
          this.ackNow = true; // filled a hole
          if (this.ooo.finSeq !== -1 && this.ooo.empty && this.rcvNxt === this.ooo.finSeq) {
            fin = true;
            this.ooo.finSeq = -1;
          }
        }
        this.unackedBytes += len;
        if (this.unackedBytes >= 2 * this.mss) this.ackSoon = true;
        else if (this.delackAt === Infinity) this.delackAt = this.port.scheduler.now() + DELACK_MS;
        this.queueEvent(EV_READABLE);
      }
      if (fin) {
        this.ooo.clear();
        this.receiveFin();
      }
    } else {
      // out of order: keep it, ACK at once with SACK (RFC 5681 §4.2)
      if (len > 0 && this.ooo.count >= Math.max(256, Math.ceil(this.opts.rcvBufSize / 512))) {
        // too many out-of-order pieces (tiny segments): drop, the sender will resend
        c.inc('rx_ooo_overflow');
        this.ackNow = true;
        return;
      }
      if (len > 0) {
        c.inc('rx_out_of_order');
        let view = seg.buf.subarray(start, end);
        if (len < SMALL_SEGMENT_COPY) view = Buffer.from(view);
        const stored = this.ooo.insert(seq, view, this.rcvNxt);
        if (stored === 0) this.reportDuplicate(seq, len);
      }
      if (fin) this.ooo.finSeq = seqAdd(seq, len);
      this.ackNow = true;
    }
  }

  protected receiveFin(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    this.queueEvent(EV_READABLE);
    switch (this._state) {
      case 'ESTABLISHED':
        this._state = 'CLOSE_WAIT';
        break;
      case 'FIN_WAIT_1':
        // our FIN not acknowledged yet (else we'd be in FIN_WAIT_2)
        this._state = 'CLOSING';
        break;
      case 'FIN_WAIT_2':
        this.sendAck();
        this.enterTimeWait();
        break;
      default:
        break;
    }
  }

  /** After the application read: reopen the window if it grew enough (Linux's rule). */
  protected afterRead(): void {
    if (!receivesData(this._state)) return;
    const cur = Math.max(0, seqDiff(this.rcvAdvRight, this.rcvNxt));
    const free = this.opts.rcvBufSize - this.rcvQueue.length;
    if (cur * 2 <= this.opts.rcvBufSize && free >= 2 * cur && free - cur >= this.mss) {
      this.port.enter();
      try {
        this.sendAck();
        this.armTimer();
      } finally {
        this.port.exit();
      }
    }
  }

  protected onReset(): void {
    const s = this._state;
    if (s === 'SYN_RECEIVED' && this.parent) {
      // passive open reset: drop the embryonic connection quietly
      this.toClosed();
      return;
    }
    if (finsExchanged(s)) {
      this.toClosed();
      return;
    }
    this.fail(s === 'SYN_RECEIVED' ? Errno.ECONNREFUSED : Errno.ECONNRESET);
  }
}
