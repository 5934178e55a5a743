/**
 * The sender's side of an arriving ACK (RFC 9293 §3.10.7.4, RFC 5681, RFC 6675): what it
 * acknowledges (RTT sample, send buffer, congestion window with HyStart++), duplicate ACKs and
 * SACK blocks for the loss recovery, the send window update, entering fast recovery, and the
 * FIN being acknowledged.
 */
import { TcpLossState } from '../socket-api.js';
import { TCP_ECE, TCP_FIN, TCP_SYN, type TcpSegment } from '../wire/tcp.js';
import { FIN_WAIT2_TIMEOUT_MS } from './constants.js';
import { EV_WRITABLE } from './control-block.js';
import { dupThresh } from './loss-recovery.js';
import { FrtoStep, FrtoVerdict } from './frto.js';
import { TlpOutcome } from './tlp.js';
import { seqAdd, seqDiff, seqGeq, seqGt, seqLeq, seqLt } from './seq.js';
import { canSendData } from './state.js';
import { TcpTimers } from './timers.js';

export abstract class TcpAckProcessor extends TcpTimers {
  /** ACK field processing; returns false when the segment must be dropped. */
  protected processAck(seg: TcpSegment, seq: number, dataLen: number, flags: number): boolean {
    const c = this.port.counters;
    const ack = seg.ack;
    if (seqGt(ack, this.sndNxt)) {
      c.inc('rx_ack_too_new');
      this.oowAck(dataLen > 0);
      return false;
    }
    if (seqLt(ack, (this.sndUna - Math.max(this.maxSndWnd, 65535)) >>> 0)) {
      // RFC 5961 §5.2: ACK far too old
      c.inc('rx_ack_too_old');
      this.challengeAck();
      return false;
    }
    const now = this.port.scheduler.now();
    const modelBased = this.cc.onAckSample !== undefined;
    this.rec.beginAck(now, this.rtt.minRtt, this.rtt.srtt, this.mss, this.tsEnabled && seg.hasTimestamp ? seg.tsEcr : 0);
    const lossMark = modelBased ? this.rec.lossMark(this.sndUna, this.sndNxt, this.mss) : 0;
    const sackedBefore = this.rec.sackedBytes();
    const unaBefore = this.sndUna;
    const win = seg.window << this.sndShift;
    const outstandingBefore = seqDiff(this.sndNxt, this.sndUna);
    if (seqGt(ack, this.sndUna)) {
      const acked = seqDiff(ack, this.sndUna);
      // RTT
      let sample = -1;
      if (this.tsEnabled && seg.hasTimestamp && seg.tsEcr !== 0) {
        const r = seqDiff(this.tsNow(), seg.tsEcr);
        if (r >= 0 && r < 600_000) sample = r;
      } else if (this.rttTime >= 0 && seqGt(ack, this.rttSeq)) {
        sample = now - this.rttTime;
        this.rttTime = -1;
      }
      if (sample >= 0) this.rtt.sample(sample);
      // data acknowledged
      const dataEnd = seqAdd(this.sndBufSeq, this.sndBuf.length);
      const dataAckedTo = seqLt(ack, dataEnd) ? ack : dataEnd;
      const nData = seqDiff(dataAckedTo, this.sndBufSeq);
      if (nData > 0) {
        this.sndBuf.consumeTo(this.sndBuf.start + nData);
        this.sndBufSeq = dataAckedTo;
        this.statBytesAcked += nData;
      }
      this.sndUna = ack;
      if (typeof this.remoteAddr === 'string') this.hintReachable(now);
      this.rec.onCumulativeAck(ack);
      this.retries = 0;
      this.rtxStart = -1;
      this.rtt.resetBackoff();
      // recovery bookkeeping
      const rec = this.rec;
      if (rec.state !== TcpLossState.Open) {
        if (seqGeq(ack, rec.recoverPoint)) {
          if (rec.state === TcpLossState.Recovery) this.cc.onRecoveryExit(now);
          rec.exitRecovery();
          this.prr.stop();
        } else {
          rec.onPartialAck(ack, acked, this.sndNxt, this.mss);
          if (rec.state === TcpLossState.Loss) this.cc.onAck(acked, now, this.rtt.srtt, this.rtt.minRtt, false);
        }
      } else {
        rec.onAckOpen();
        this.growWindow(ack, acked, sample, now, outstandingBefore);
      }
      // FIN acknowledged?
      if (this.finSent && seqGt(ack, this.finSeq)) this.onFinAcked();
      // retransmission timer (RFC 6298 §5.2/5.3)
      if (this.sndUna === this.sndNxt) {
        this.rtxAt = Infinity;
      } else {
        this.persist = false;
        this.armRtx(now);
      }
      if (this.wantWritable && this.sndBuf.length < this.opts.sndBufSize) {
        this.wantWritable = false;
        this.queueEvent(EV_WRITABLE);
      }
    } else if (
      ack === this.sndUna &&
      dataLen === 0 &&
      !(flags & (TCP_SYN | TCP_FIN)) &&
      win === this.sndWnd &&
      this.sndUna !== this.sndNxt
    ) {
      this.rec.onDupAck(outstandingBefore, this.mss);
      c.inc('rx_dup_ack');
    }
    // SACK blocks
    if (seg.sackCount > 0) this.rec.onSackBlocks(seg, ack, this.sndUna, this.sndNxt, c);
    // D-SACK (RFC 3708): every retransmission of the episode came back as a duplicate
    if (this.rec.ackHadDsack && this.undo.active) {
      this.undo.onDsack(this.rec.dsackLeft, this.rec.dsackRight, this.mss);
      if (this.undo.allDsacked()) this.undoReduction('undo_dsack');
    }
    // RACK: what is now overdue is lost; what may still be reordered arms the reordering timer
    const wait = this.sndUna === this.sndNxt ? 0 : this.rec.endAck(this.sndUna, this.sndNxt);
    this.reoAt = wait > 0 ? now + wait : Infinity;
    if (this.probe.pending) this.tailProbeAcked(ack, unaBefore, sackedBefore, now);
    const rs = this.rate.onAck(this.sndUna, seg, this.rec.sackedBytes(), this.statBytesAcked, now);
    // window update (RFC 9293 §3.10.7.4)
    if (seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLeq(this.sndWl2, ack))) {
      const grew = win > this.sndWnd;
      this.sndWnd = win;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (win > this.maxSndWnd) this.maxSndWnd = win;
      if (grew && this.persist) {
        this.persist = false;
        this.rtxAt = this.sndUna === this.sndNxt ? Infinity : now + this.rtt.current();
        this.rtt.resetBackoff();
      }
    }
    // ECN (RFC 3168 §6.1.2): ECE reduces the window as a loss would, once per window of data
    if (flags & TCP_ECE && this.ecn.onEce(ack, this.sndNxt) && this.rec.state === TcpLossState.Open && !modelBased) {
      this.port.counters.inc('ecn_reduction');
      this.cc.onCongestion(now, seqDiff(this.sndNxt, this.sndUna));
      this.cc.onRecoveryExit(now);
    }
    // F-RTO (RFC 5682): the first two ACKs after a timeout tell whether it was spurious
    if (this.frto.step !== FrtoStep.Off && this.rec.state !== TcpLossState.Loss) this.frto.stop();
    if (this.frto.step !== FrtoStep.Off) {
      const advanced = seqGt(ack, unaBefore);
      if (advanced || (ack === this.sndUna && dataLen === 0 && this.sndUna !== this.sndNxt)) {
        const unsent = seqDiff(seqAdd(this.sndBufSeq, this.sndBuf.length), this.sndNxt);
        const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
        const v = this.frto.onAck(ack, advanced, unsent > 0 && wndRoom > 0);
        if (v === FrtoVerdict.Spurious) this.undoReduction('undo_frto');
        else if (v === FrtoVerdict.Real) this.port.counters.inc('frto_real_loss');
      }
    }
    // a lost retransmission of the head: data sent after it has been SACKed well beyond
    if (this.rec.headRetransmitLost(this.sndUna, this.sndNxt, this.mss)) this.resendHead();
    // enter loss recovery?
    if (this.rec.state === TcpLossState.Open && this.sndUna !== this.sndNxt && this.synAcked) {
      const thresh = dupThresh(this.sndUna, this.sndNxt, this.mss);
      if (this.rec.detectLoss(this.sndUna, this.mss, thresh)) this.enterRecovery(now, thresh);
    }
    // PRR (RFC 6937): during fast recovery a loss-based algorithm sends in proportion to delivery
    if (this.prr.active && !modelBased && this.rec.state === TcpLossState.Recovery) {
      const delivered = seqDiff(this.sndUna, unaBefore) + this.rec.sackedBytes() - sackedBefore;
      const pipe = this.rec.pipe(this.sndUna, this.sndNxt, this.mss);
      this.cc.cwnd = pipe + this.prr.onAck(delivered > 0 ? delivered : 0, pipe, this.cc.ssthresh, this.mss);
    }
    // a model-based algorithm (BBR) updates its model from the rate sample once loss detection has run
    const cc = this.cc;
    if (modelBased && rs.newlyDelivered > 0) {
      const inflight = this.rec.pipe(this.sndUna, this.sndNxt, this.mss);
      cc.onAckSample!({
        now,
        rs,
        delivered: this.rate.delivered,
        inflight,
        lost: this.rec.newlyLost(lossMark, this.sndUna, this.sndNxt, this.mss),
        lossState: this.rec.state,
      });
      // as Linux's bbr_update_min_rtt: PROBE_RTT's low-rate samples are ignored
      if (cc.holdsRateDown) this.rate.markAppLimited(inflight);
    }
    if (!canSendData(this._state)) return this._state !== 'CLOSED';
    this.output();
    return true;
  }

  /** New data acknowledged outside recovery: the congestion window grows (`sample` is this ACK's RTT, or -1). */
  private growWindow(ack: number, acked: number, sample: number, now: number, outstandingBefore: number): void {
    const appLimited = outstandingBefore < this.cc.cwnd / 2 && this.sndBuf.length <= outstandingBefore;
    const cc = this.cc;
    if (cc.cwnd < cc.ssthresh) {
      // HyStart++ (RFC 9406) watches slow start for a rising RTT
      const hs = this.hystart;
      if (seqGeq(ack, this.hsRoundEnd)) {
        hs.onRoundStart();
        this.hsRoundEnd = this.sndNxt;
      }
      if (sample >= 0) hs.onRttSample(sample);
      cc.onAck(hs.divisor === 1 ? acked : Math.floor(acked / hs.divisor), now, this.rtt.srtt, this.rtt.minRtt, appLimited);
      if (hs.done && cc.cwnd < cc.ssthresh) {
        cc.ssthresh = cc.cwnd;
        this.port.counters.inc('hystart_exit');
      }
    } else {
      cc.onAck(acked, now, this.rtt.srtt, this.rtt.minRtt, appLimited);
    }
  }

  /** The episode's reduction was needless: cwnd and ssthresh back (loss-based algorithms), recovery over. */
  protected undoReduction(counter: string): void {
    const u = this.undo;
    u.clear();
    this.frto.stop();
    this.port.counters.inc(counter);
    const cc = this.cc;
    if (cc.onAckSample === undefined) {
      if (cc.cwnd < u.priorCwnd) cc.cwnd = u.priorCwnd;
      if (cc.ssthresh < u.priorSsthresh) cc.ssthresh = u.priorSsthresh;
    }
    if (this.rec.state !== TcpLossState.Open) {
      this.rec.undoLoss();
      this.prr.stop();
    }
  }

  /** What an ACK says of an outstanding tail loss probe (RFC 8985 §7.4). */
  private tailProbeAcked(ack: number, unaBefore: number, sackedBefore: number, now: number): void {
    const rec = this.rec;
    const progress = ack !== unaBefore || rec.sackedBytes() > sackedBefore;
    const o = this.probe.onAck(ack, progress, rec.ackHadDsack, rec.dsackLeft, rec.dsackRight);
    if (o === TlpOutcome.NoLoss) {
      if (this.probe.isRetrans) this.port.counters.inc('tlp_spurious');
    } else if (o === TlpOutcome.Recovered && rec.state === TcpLossState.Open) {
      // the probe repaired a tail loss: reduce the window once, as a recovery would (Linux's CWR)
      this.port.counters.inc('tlp_recovery');
      this.cc.onCongestion(now, seqDiff(this.sndNxt, this.sndUna));
      this.cc.onRecoveryExit(now);
    }
  }

  /** Fast recovery begins: the loss recovery's bookkeeping, the window cut, the head resent at once. */
  protected enterRecovery(now: number, thresh: number): void {
    this.probe.clear();
    const inflight = seqDiff(this.sndNxt, this.sndUna);
    this.rec.enterRecovery(this.sndUna, this.sndNxt, this.mss, thresh);
    this.undo.start(this.sndUna, this.sndNxt, this.cc.cwnd, this.cc.ssthresh);
    this.cc.onCongestion(now, inflight);
    if (this.cc.onAckSample === undefined && this.rec.proportionalRateReduction) this.prr.start(inflight);
    this.hystart.reset();
    this.rttTime = -1;
    if (this.tlp) this.startRtx(this.rtt.current());
    this.port.counters.inc('fast_recovery');
    // retransmit the first lost segment at once, whatever pipe says
    const s = this.rec.nextLost(this.sndUna, this.sndNxt, this.mss);
    if (s !== -1) {
      this.statFastRetransmits++;
      this.retransmitAt(s);
    }
  }

  protected onFinAcked(): void {
    switch (this._state) {
      case 'FIN_WAIT_1':
        this._state = 'FIN_WAIT_2';
        if (this.userClosed) this.finWait2At = this.port.scheduler.now() + FIN_WAIT2_TIMEOUT_MS;
        break;
      case 'CLOSING':
        this.enterTimeWait();
        break;
      case 'LAST_ACK':
        this.toClosed();
        break;
      default:
        break;
    }
  }
}
