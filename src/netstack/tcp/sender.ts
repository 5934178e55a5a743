/**
 * The sending half of a connection (as gVisor's snd.go): what may go out now — the windows,
 * Nagle and CORK, sender SWS avoidance, retransmissions chosen by the loss recovery — and the
 * segments themselves (data, SYN, ACK, RST with their options), the retransmission timer's
 * deadline, tail loss probes, the persist timer and path-MTU reductions.
 */
import { Errno } from '../errno.js';
import { TcpLossState } from '../socket-api.js';
import { HEADROOM, ipHeaderLen, IPPROTO_TCP } from '../transport.js';
import {
  emitTcpHeader,
  setTcpChecksum,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_HEADER_LEN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  tcpOptionsLength,
} from '../wire/tcp.js';
import { CORK_MS, DELACK_MS, DEFAULT_MSS, OOW_ACK_INTERVAL_MS } from './constants.js';
import { TcpControlBlock } from './control-block.js';
import { allocSegment } from './segment-buffer.js';
import { seqAdd, seqDiff, seqGt, seqLt } from './seq.js';
import { acceptsWrites, canSendData, isHandshaking, isQuiet } from './state.js';

export abstract class TcpSender extends TcpControlBlock {
  protected queueFin(): void {
    this.wrShut = true;
    const s = this._state;
    if (isHandshaking(s)) return; // sent once established
    if (this.finQueued) return;
    if (!acceptsWrites(s)) return;
    this.finQueued = true;
    this.finSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    this._state = s === 'ESTABLISHED' ? 'FIN_WAIT_1' : 'LAST_ACK';
    this.output();
  }

  /** Sends what the windows, Nagle and recovery allow. */
  output(): void {
    if (!canSendData(this._state)) return;
    const now = this.port.scheduler.now();
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const paced = this.cc.pacingRate > 0;
    // time the pacer held the sender back is owed to it; any other stop (cwnd, window, no data) is not
    this.paceCatchUpMs = paced && this.pacerHeld ? this.rtt.srtt / 2 : 0;
    this.pacerHeld = false;
    try {
      this.sendWhatIsAllowed(now, dataEndSeq, paced);
    } finally {
      this.paceCatchUpMs = 0;
    }
  }

  private sendWhatIsAllowed(now: number, dataEndSeq: number, paced: boolean): void {
    for (let guard = 0; guard < 100000; guard++) {
      const cwnd = this.cc.cwnd;
      const pipe = this.rec.pipe(this.sndUna, this.sndNxt, this.mss);
      // pacing: a segment leaves once its time has come (up to one send quantum early)
      if (paced && this.paceNext > now + this.paceQuantumMs()) {
        if (pipe < cwnd) this.holdForPacing();
        break;
      }
      // 1. retransmissions of lost segments
      if ((this.rec.state !== TcpLossState.Open || this.rec.hasSacks()) && !this.frto.holdingRetransmissions) {
        if (pipe < cwnd) {
          const l = this.rec.nextLost(this.sndUna, this.sndNxt, this.mss);
          if (l !== -1) {
            this.retransmitAt(l);
            continue;
          }
        }
      }
      // 2. new data
      let unsent = seqDiff(dataEndSeq, this.sndNxt);
      if (unsent < 0) unsent = 0;
      const finPending = this.finQueued && !this.finSent;
      if (unsent === 0 && !finPending) {
        // the application, not the network, limits the flow: rate samples say so until this is delivered
        if (cwnd - pipe >= this.mss) this.rate.markAppLimited(pipe);
        break;
      }
      const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      const cwndRoom = cwnd - pipe;
      const smss = this.sendMss();
      let len = unsent;
      if (len > smss) len = smss;
      if (len > wndRoom) len = wndRoom;
      if (len > cwndRoom) len = cwndRoom;
      if (len < 0) len = 0;
      if (unsent > 0 && len === 0) {
        if (wndRoom <= 0 && this.sndUna === this.sndNxt) this.startPersist();
        break;
      }
      if (unsent === 0 && cwndRoom <= 0 && this.sndUna !== this.sndNxt && wndRoom < 0) break;
      if (len < unsent && len < smss) {
        // window- or cwnd-limited runt: sender SWS avoidance (RFC 9293 §3.8.6.2.1)
        if (!this.forceRunt && (len < this.maxSndWnd / 2 || len < wndRoom)) {
          // held back with nothing in flight: the persist timer overrides SWS avoidance later
          if (this.sndUna === this.sndNxt) this.startPersist();
          break;
        }
      }
      if (len === unsent && len < smss && len > 0) {
        // a FIN waiting behind the runt flushes it, corked or not, as Linux's tcp_send_fin does
        if (this.opts.cork && !finPending) {
          if (this.corkAt === Infinity) this.corkAt = now + CORK_MS;
          if (now < this.corkAt) break;
        } else if (!this.opts.nodelay && this.sndUna !== this.sndNxt && !finPending) {
          break; // Nagle
        }
      }
      const fin = finPending && len === unsent;
      if (!fin && len === 0) break;
      if (len === 0 && fin && wndRoom < 0 && this.sndUna !== this.sndNxt) break;
      this.sendDataSegment(this.sndNxt, len, fin, false);
      if (this.rttTime < 0 && !this.tsEnabled && len > 0) {
        this.rttTime = now;
        this.rttSeq = this.sndNxt;
      }
      this.sndNxt = seqAdd(this.sndNxt, len + (fin ? 1 : 0));
      this.statBytesSent += len;
      if (fin) this.finSent = true;
      if (this.rtxAt === Infinity || this.persist) {
        this.persist = false;
        this.armRtx(now);
      }
      if (len === unsent && this.corkAt !== Infinity) this.corkAt = Infinity;
    }
  }

  /**
   * Resends the head segment whose retransmission was lost (Linux's lost-retransmit detection):
   * segments sent after that retransmission have been SACKed, so it should have arrived.
   */
  protected resendHead(): void {
    const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
    let len = seqDiff(dataEnd, this.sndUna);
    const smss = this.sendMss();
    if (len > smss) len = smss;
    if (len < 0) len = 0;
    const fin = this.finSent && seqAdd(this.sndUna, len) === this.finSeq;
    if (len === 0 && !fin) return;
    this.sendDataSegment(this.sndUna, len, fin, true);
    this.rec.headRtxMark = this.sndNxt;
    this.undo.onRetransmit();
    this.statRetransmits++;
    this.port.counters.inc('tx_lost_retransmit');
    this.startRtx(this.rtt.current());
  }

  /**
   * Arms the retransmission timer, or a tail loss probe (RFC 8985 §7) when that comes first: with
   * SACK, outside recovery, no probe outstanding, PTO = 2·SRTT (+ the peer's delayed-ACK time for
   * a one-segment flight).
   */
  protected armRtx(now: number): void {
    let at = now + this.rtt.current();
    this.tlp = false;
    if (this.rec.probesTail && this.rec.state === TcpLossState.Open && !this.probe.pending && this.rtt.samples > 0 && this.synAcked) {
      let pto = Math.max(2 * this.rtt.srtt, 10);
      if (seqDiff(this.sndNxt, this.sndUna) <= this.mss) pto += DELACK_MS + 10;
      if (now + pto < at) {
        at = now + pto;
        this.tlp = true;
      }
    }
    this.rtxAt = at;
  }

  /**
   * The PTO fired (RFC 8985 §7.3): a probe whose ACK (with SACK) exposes any tail loss — a segment
   * of new data when there is some and the receive window allows (whatever cwnd says), else the
   * last segment again. Probing with new data cannot be spurious: a late ACK (a stretch ACK held
   * to the end of the peer's receive burst) then costs no duplicate.
   */
  protected tlpFire(): void {
    this.tlp = false;
    if (this.sndUna === this.sndNxt || this.rec.state !== TcpLossState.Open || this.probe.pending) {
      if (this.sndUna !== this.sndNxt) this.startRtx(this.rtt.current());
      return;
    }
    const smss = this.sendMss();
    const c = this.port.counters;
    const unsent = seqDiff(seqAdd(this.sndBufSeq, this.sndBuf.length), this.sndNxt);
    const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (unsent > 0 && wndRoom > 0 && !this.finSent) {
      const len = Math.min(unsent, smss, wndRoom);
      const start = this.sndNxt;
      const fin = this.finQueued && len === unsent;
      this.sendDataSegment(start, len, fin, false);
      this.sndNxt = seqAdd(start, len + (fin ? 1 : 0));
      this.statBytesSent += len;
      if (fin) this.finSent = true;
      this.probe.begin(start, this.sndNxt, false);
      c.inc('tx_tlp');
      c.inc('tx_tlp_new_data');
    } else {
      const dataEnd = this.finSent ? this.finSeq : this.sndNxt;
      let start = seqDiff(dataEnd, this.sndUna) > smss ? seqAdd(dataEnd, -smss) : this.sndUna;
      if (seqLt(start, this.sndUna)) start = this.sndUna;
      const len = seqDiff(dataEnd, start);
      if (len > 0 || this.finSent) {
        this.sendDataSegment(start, len, this.finSent, true);
        this.statRetransmits++;
        c.inc('tx_tlp');
        c.inc('tx_tlp_retransmit');
        this.rttTime = -1;
        this.probe.begin(start, this.sndNxt, true);
      }
    }
    this.startRtx(this.rtt.current());
  }

  protected startPersist(): void {
    if (this.persist) return;
    this.persist = true;
    this.rtxAt = this.port.scheduler.now() + this.rtt.current();
  }

  /** Retransmits one segment starting at `s` (a lost hole), advancing HighRxt. */
  protected retransmitAt(s: number): void {
    let holeEnd = this.rec.holeEnd(s, this.sndNxt);
    if (seqGt(holeEnd, this.sndNxt)) holeEnd = this.sndNxt;
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    const dataStop = seqLt(holeEnd, dataEndSeq) ? holeEnd : dataEndSeq;
    let len = seqDiff(dataStop, s);
    const smss = this.sendMss();
    if (len > smss) len = smss;
    if (len < 0) len = 0;
    const fin = this.finSent && seqAdd(s, len) === this.finSeq && seqGt(holeEnd, this.finSeq);
    if (len === 0 && !fin) {
      // nothing to resend here (e.g. the hole is the FIN and it is not ours to send)
      this.rec.highRxt = seqAdd(s, 1);
      return;
    }
    this.sendDataSegment(s, len, fin, true);
    if (s === this.sndUna) this.rec.headRetransmitted(s, this.sndNxt);
    this.rec.highRxt = seqAdd(s, len + (fin ? 1 : 0));
    this.undo.onRetransmit();
    this.statRetransmits++;
    this.port.counters.inc('tx_retransmit');
    if (this.rtxStart < 0) this.rtxStart = this.port.scheduler.now();
    this.rttTime = -1;
    // retransmitting the head restarts the timer (as Linux): the RTO covers the new copy, so a
    // loss found by SACK just before the timer would fire does not also cost an RTO
    if (this.rtxAt === Infinity || s === this.sndUna) this.startRtx(this.rtt.current());
  }

  protected startRtx(ms: number): void {
    this.tlp = false;
    let at = this.port.scheduler.now() + ms;
    if (this.opts.userTimeoutMs > 0 && this.rtxStart >= 0) {
      const limit = this.rtxStart + this.opts.userTimeoutMs;
      if (limit < at) at = Math.max(limit, this.port.scheduler.now());
    }
    this.rtxAt = at;
  }

  /**
   * Largest payload of the next data segment: the MSS less the room SACK blocks will take when
   * there is out-of-order data to report, so header + data still fit the path MTU (as Linux's
   * tcp_current_mss).
   */
  protected sendMss(): number {
    if (!this.sackEnabled || (this.ooo.empty && !this.hasDsack)) return this.mss;
    const blocks = Math.min(this.tsEnabled ? 3 : 4, this.ooo.count + (this.hasDsack ? 1 : 0));
    return Math.max(64, this.mss - (4 + 8 * blocks));
  }

  /** Fills this.opt for a non-SYN segment; returns the options length. */
  protected prepareOptions(): number {
    const o = this.opt.reset();
    if (this.tsEnabled) {
      o.hasTimestamp = true;
      o.tsVal = this.tsNow();
      o.tsEcr = this.tsRecent;
    }
    if (this.sackEnabled) {
      const max = this.tsEnabled ? 3 : 4;
      let n = 0;
      if (this.hasDsack) {
        o.sack[0] = this.dsackLeft;
        o.sack[1] = this.dsackRight;
        n = 1;
        this.hasDsack = false;
      }
      if (!this.ooo.empty) n += this.ooo.sackBlocks(o.sack, n, max - n);
      o.sackCount = n;
    }
    return tcpOptionsLength(o);
  }

  /** Time (ms) the pacer lets the sender run ahead: one send quantum (2 segments, about 1 ms of data, 64 KiB at most). */
  protected paceQuantumMs(): number {
    const rate = this.cc.pacingRate;
    return Math.max(2 * this.mss, Math.min(65536, rate)) / rate;
  }

  /** Output is held by the pacer: the connection's timer wakes it when the next segment is due. */
  protected holdForPacing(): void {
    this.pacerHeld = true;
    if (this.paceAt > this.paceNext) this.paceAt = this.paceNext;
  }

  /** Records a data segment's departure for the delivery-rate samples (when the algorithm reads them) and the pacer. */
  private accountSend(seq: number, len: number, fin: boolean, rtx: boolean): void {
    const now = this.port.scheduler.now();
    if (len > 0 || fin) this.rec.onTransmit(seq, seqAdd(seq, len + (fin ? 1 : 0)), now, this.tsEnabled ? this.tsNow() : 0, rtx);
    if (this.prr.active) this.prr.onSent(len);
    if (len > 0 && this.cc.onAckSample !== undefined) {
      if (rtx) this.rate.onRetransmit(seq, seqAdd(seq, len), now);
      else this.rate.onSend(seq, seqAdd(seq, len), now, seqDiff(this.sndNxt, this.sndUna));
    }
    const rate = this.cc.pacingRate;
    if (rate > 0) {
      // A sender behind its schedule may catch up by one quantum or 1 ms after a stop of its own
      // (cwnd, window, no data): not a burst after idle. Behind because the pacer's timer fired
      // late (a busy host fires them several ms late), it may make up the time lost, up to half
      // an SRTT: otherwise it sends less than its pacing rate, and BBR, which paces at the rate it
      // measured, measures that shortfall as the path's bandwidth, round after round.
      const q = this.paceQuantumMs();
      let lag = q > 1 ? q : 1;
      if (this.paceCatchUpMs > lag) lag = this.paceCatchUpMs;
      const floor = now - lag;
      this.paceNext = (this.paceNext > floor ? this.paceNext : floor) + (len + TCP_HEADER_LEN + ipHeaderLen(this.remoteAddr)) / rate;
    }
  }

  /** Builds and sends one segment carrying data [seq, seq+len) from the send buffer. */
  protected sendDataSegment(seq: number, len: number, fin: boolean, rtx: boolean): void {
    this.accountSend(seq, len, fin, rtx);
    const optLen = this.prepareOptions();
    const hl = TCP_HEADER_LEN + optLen;
    const buf = allocSegment(HEADROOM + hl + len);
    let flags = TCP_ACK;
    if (fin) flags |= TCP_FIN;
    // ECN: new data goes as ECT(0), the first after a reduction with CWR; ECE while a CE is owed
    const ect = this.ecn.ok && len > 0 && !rtx;
    if (this.ecn.echo) flags |= TCP_ECE;
    if (ect && this.ecn.cwrPending) {
      flags |= TCP_CWR;
      this.ecn.cwrPending = false;
    }
    const dataEndSeq = seqAdd(this.sndBufSeq, this.sndBuf.length);
    if (len > 0 && seqAdd(seq, len) === dataEndSeq) flags |= TCP_PSH;
    const wnd = this.windowToAdvertise();
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, seq, this.rcvNxt, flags, wnd, this.opt);
    if (len > 0) this.sndBuf.copyOut(this.sndBuf.start + seqDiff(seq, this.sndBufSeq), len, buf, HEADROOM + hl);
    this.transmit(buf, ect);
  }

  protected transmit(buf: Buffer, ect = false): void {
    // A segment for one of our own addresses goes round the loopback, where checksums are not checked.
    if (!this.port.ip.isLocalAddress(this.remoteAddr)) setTcpChecksum(buf, HEADROOM, buf.length, this.localAddr, this.remoteAddr);
    this.lastAckSent = this.rcvNxt;
    this.delackAt = Infinity;
    this.unackedBytes = 0;
    this.ackNow = false;
    this.ackSoon = false;
    this.statSegsOut++;
    const r = this.port.sendSegment(this.localAddr, this.remoteAddr, buf, ect ? this.opts.ectSendOpts : this.opts.sendOpts);
    if (r < 0) {
      // the segment is lost locally; retransmission recovers it. A smaller path MTU than we
      // thought (-EMSGSIZE with DF) lowers the MSS at once.
      this.port.counters.inc(r === -Errno.EMSGSIZE ? 'tx_emsgsize' : 'tx_ip_error');
      if (r === -Errno.EMSGSIZE && !this.mtuCheckPending) {
        this.mtuCheckPending = true;
        this.port.scheduler.setTimer(0, this.mtuCheckBound);
      }
    }
  }

  protected readonly mtuCheckBound = (): void => {
    this.mtuCheckPending = false;
    if (isQuiet(this._state)) return;
    this.port.run(() => {
      this.lowerMss(this.port.ip.maxPayloadFor(this.remoteAddr));
      this.armTimer();
    });
  };

  /** A smaller path MTU: lower the MSS and resend the flight in smaller segments (RFC 1191). */
  protected lowerMss(pathPayload: number): void {
    const before = this.mss;
    this.updateMss(pathPayload);
    if (this.mss >= before) {
      this.mss = before; // never raise the MSS on an ICMP's word
      this.cc.setMss(before);
      return;
    }
    this.port.counters.inc('pmtu_reduced');
    if (isHandshaking(this._state)) return;
    if (this.sndUna !== this.sndNxt) {
      this.rec.onMtuReduced(this.sndUna, this.sndNxt);
      this.output();
    }
  }

  /** Window field for a non-SYN segment; moves the advertised right edge (never left). */
  protected windowToAdvertise(): number {
    const shift = this.rcvShift;
    let free = this.opts.rcvBufSize - this.rcvQueue.length;
    if (free < 0) free = 0;
    let cur = seqDiff(this.rcvAdvRight, this.rcvNxt);
    if (cur < 0) cur = 0;
    // receiver SWS avoidance: only open the window by a useful amount
    let want = cur;
    if (free > cur && (free - cur >= Math.min(this.opts.rcvBufSize / 2, this.mss) || (cur === 0 && free >= this.mss))) want = free;
    else if (free > cur && free === this.opts.rcvBufSize) want = free;
    // shift is at most 14, so the unit is an exact small integer (and no Math.pow per segment)
    const unit = 1 << shift;
    let field = Math.ceil(want / unit);
    if (field > 65535) field = 65535;
    const right = seqAdd(this.rcvNxt, field * unit);
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    return field;
  }

  protected sendSyn(withAck: boolean): void {
    const o = this.opt.reset();
    o.mss = this.ourMss();
    o.sackPermitted = withAck ? this.sackEnabled : true;
    if (this.wsOffered) o.wscale = this.rcvShift;
    if (!withAck || this.tsEnabled) {
      o.hasTimestamp = true;
      o.tsVal = this.tsNow();
      o.tsEcr = withAck ? this.tsRecent : 0;
    }
    const hl = TCP_HEADER_LEN + tcpOptionsLength(o);
    const buf = allocSegment(HEADROOM + hl);
    const wnd = Math.min(65535, this.opts.rcvBufSize);
    if (withAck) this.rcvAdvRight = seqAdd(this.rcvNxt, wnd);
    emitTcpHeader(
      buf,
      HEADROOM,
      this.localPort,
      this.remotePort,
      this.iss,
      withAck ? this.rcvNxt : 0,
      withAck ? TCP_SYN | TCP_ACK | (this.ecn.ok ? TCP_ECE : 0) : TCP_SYN | (this.opts.ecn === 1 ? TCP_ECE | TCP_CWR : 0),
      wnd,
      o,
    );
    if (this.sndNxt === this.iss) this.sndNxt = seqAdd(this.iss, 1);
    if (this.rttTime < 0 && this.retries === 0) this.rttTime = this.port.scheduler.now();
    this.port.counters.inc(withAck ? 'tx_synack' : 'tx_syn');
    this.transmit(buf);
  }

  /** A pure ACK (also window updates, challenge ACKs, keepalive/zero-window probes with seq-1). */
  sendAck(probe = false): void {
    const optLen = this.prepareOptions();
    const hl = TCP_HEADER_LEN + optLen;
    const buf = allocSegment(HEADROOM + hl);
    const wnd = this.windowToAdvertise();
    const seq = probe ? (this.sndUna - 1) >>> 0 : this.sndNxt;
    emitTcpHeader(
      buf,
      HEADROOM,
      this.localPort,
      this.remotePort,
      seq,
      this.rcvNxt,
      this.ecn.echo ? TCP_ACK | TCP_ECE : TCP_ACK,
      wnd,
      this.opt,
    );
    this.transmit(buf);
  }

  protected sendRst(): void {
    const optLen = this.tsEnabled ? this.prepareTsOnly() : 0;
    const buf = allocSegment(HEADROOM + TCP_HEADER_LEN + optLen);
    emitTcpHeader(buf, HEADROOM, this.localPort, this.remotePort, this.sndNxt, this.rcvNxt, TCP_RST | TCP_ACK, 0, optLen ? this.opt : null);
    setTcpChecksum(buf, HEADROOM, buf.length, this.localAddr, this.remoteAddr);
    this.port.counters.inc('tx_rst');
    this.port.ip.send(IPPROTO_TCP, this.localAddr, this.remoteAddr, buf, HEADROOM, this.opts.sendOpts);
  }

  protected prepareTsOnly(): number {
    const o = this.opt.reset();
    o.hasTimestamp = true;
    o.tsVal = this.tsNow();
    o.tsEcr = this.tsRecent;
    return tcpOptionsLength(o);
  }

  /** MSS we advertise: path payload minus the TCP header, clamped by TCP_MAXSEG. */
  protected ourMss(): number {
    let m = this.port.ip.maxPayloadFor(this.remoteAddr) - TCP_HEADER_LEN;
    if (!(m > 0)) m = DEFAULT_MSS;
    if (this.opts.userMaxSeg > 0 && this.opts.userMaxSeg < m) m = this.opts.userMaxSeg;
    return Math.max(88, Math.min(65495, m));
  }

  protected updateMss(pathPayload?: number): void {
    let m = this.peerMss;
    const ours = pathPayload !== undefined ? pathPayload - TCP_HEADER_LEN : this.ourMss();
    if (ours < m) m = ours;
    if (this.opts.userMaxSeg > 0 && this.opts.userMaxSeg < m) m = this.opts.userMaxSeg;
    if (this.tsEnabled) m -= 12;
    if (m < 64) m = 64;
    this.mss = m;
    this.cc.setMss(m);
  }

  protected challengeAck(): void {
    const c = this.port.counters;
    if (!this.port.allowChallengeAck()) {
      c.inc('challenge_ack_limited');
      return;
    }
    c.inc('challenge_ack');
    this.sendAck();
  }

  /** ACK in reply to an unacceptable segment; pure ACKs are rate-limited to break ACK loops. */
  protected oowAck(hasPayload: boolean): void {
    const now = this.port.scheduler.now();
    if (!hasPayload) {
      if (now - this.lastOowAck < OOW_ACK_INTERVAL_MS) {
        this.port.counters.inc('oow_ack_limited');
        return;
      }
      this.lastOowAck = now;
    }
    this.ackNow = true;
  }
}
