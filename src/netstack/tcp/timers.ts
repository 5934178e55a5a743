/**
 * A connection's timers (as gVisor's timer.go): the deadlines (retransmission / persist / tail
 * loss probe, delayed ACK, cork, FIN_WAIT_2, keepalive) live in fields; at most one scheduler
 * timer is armed, for the earliest, and moving a deadline later costs nothing (the timer fires
 * early and re-arms). What each deadline does when it passes is here too: the RTO (with SYN and
 * data retry limits and USER_TIMEOUT), zero-window probes and keepalive probes.
 */
import type { Timer } from '../clock.js';
import { Errno } from '../errno.js';
import { TcpLossState } from '../socket-api.js';
import { DATA_RETRIES, SYN_RETRIES, SYNACK_RETRIES } from './constants.js';
import { TcpSender } from './sender.js';
import { seqAdd, seqDiff } from './seq.js';
import { isHandshaking, isQuiet, keepsAlive } from './state.js';

export abstract class TcpTimers extends TcpSender {
  private timer: Timer | null = null;
  private timerAt = Infinity;
  private readonly onTimerBound = (): void => this.onTimer();

  /** Cancels the scheduler timer (the connection closed or reached TIME_WAIT). */
  protected cancelTimer(): void {
    if (this.timer) {
      this.timer.cancel();
      this.timer = null;
      this.timerAt = Infinity;
    }
  }

  protected keepaliveAt(): number {
    if (!this.opts.keepalive) return Infinity;
    if (!keepsAlive(this._state)) return Infinity;
    if (this.keepaliveProbes === 0) return this.lastRcvTime + this.opts.keepIdleMs;
    return this.lastKeepaliveProbe + this.opts.keepIntvlMs;
  }

  armTimer(): void {
    if (isQuiet(this._state)) return;
    let at = this.rtxAt;
    if (this.reoAt < at) at = this.reoAt;
    if (this.delackAt < at) at = this.delackAt;
    if (this.corkAt < at) at = this.corkAt;
    if (this.paceAt < at) at = this.paceAt;
    if (this.finWait2At < at) at = this.finWait2At;
    const k = this.keepaliveAt();
    if (k < at) at = k;
    if (at === Infinity) return;
    if (this.timer !== null && this.timerAt <= at) return; // fires early; re-armed then
    if (this.timer !== null) this.timer.cancel();
    const now = this.port.scheduler.now();
    this.timerAt = at;
    this.timer = this.port.scheduler.setTimer(Math.max(0, at - now), this.onTimerBound);
  }

  protected onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (isQuiet(this._state)) return;
    this.port.enter();
    try {
      const now = this.port.scheduler.now();
      if (this.rtxAt <= now) {
        this.rtxAt = Infinity;
        if (this.persist) this.persistFire(now);
        else if (this.tlp) this.tlpFire();
        else this.rtoFire(now);
      }
      if (this._state === 'CLOSED' || this._state === 'TIME_WAIT') return;
      if (this.reoAt <= now) {
        this.reoAt = Infinity;
        this.reorderFire(now);
      }
      if (this.delackAt <= now) {
        this.delackAt = Infinity;
        this.sendAck();
      }
      if (this.paceAt <= now) {
        this.paceAt = Infinity;
        this.output();
      }
      if (this.corkAt <= now) {
        this.output();
        this.corkAt = Infinity;
      }
      if (this.finWait2At <= now) {
        this.finWait2At = Infinity;
        if (this._state === 'FIN_WAIT_2') {
          this.port.counters.inc('fin_wait2_timeout');
          this.toClosed();
          return;
        }
      }
      if (this.keepaliveAt() <= now) this.keepaliveFire(now);
      this.armTimer();
    } finally {
      this.port.exit();
    }
  }

  protected userTimedOut(now: number): boolean {
    return this.opts.userTimeoutMs > 0 && this.rtxStart >= 0 && now - this.rtxStart >= this.opts.userTimeoutMs;
  }

  protected rtoFire(now: number): void {
    const s = this._state;
    const c = this.port.counters;
    if (isHandshaking(s)) {
      this.retries++;
      if (this.rtxStart < 0) this.rtxStart = now;
      const max = s === 'SYN_SENT' ? SYN_RETRIES : SYNACK_RETRIES;
      if (this.retries > max || this.userTimedOut(now)) {
        c.inc(s === 'SYN_SENT' ? 'syn_timeout' : 'synack_timeout');
        if (this.parent) this.toClosed();
        else this.fail(Errno.ETIMEDOUT);
        return;
      }
      this.rtt.onTimeout();
      this.rttTime = -1;
      this.statRetransmits++;
      c.inc('tx_retransmit');
      this.sendSyn(s === 'SYN_RECEIVED');
      this.startRtx(this.rtt.current());
      return;
    }
    if (this.sndUna === this.sndNxt) return;
    if (this.rtxStart < 0) this.rtxStart = now;
    this.retries++;
    if (this.retries > DATA_RETRIES || this.userTimedOut(now)) {
      c.inc('rto_give_up');
      this.fail(Errno.ETIMEDOUT);
      return;
    }
    this.statRtoTimeouts++;
    c.inc('rto_timeout');
    this.probe.clear();
    this.prr.stop();
    this.reoAt = Infinity;
    const inflight = seqDiff(this.sndNxt, this.sndUna);
    const wasOpen = this.rec.state === TcpLossState.Open;
    this.frto.stop();
    if (this.rtt.backoff === 0) this.undo.start(this.sndUna, this.sndNxt, this.cc.cwnd, this.cc.ssthresh);
    if (this.rtt.backoff === 0) this.cc.onRto(now, inflight);
    else this.cc.cwnd = this.mss;
    this.hystart.reset();
    this.rtt.onTimeout();
    this.rec.onRto(this.sndUna, this.sndNxt);
    this.rttTime = -1;
    const l = this.rec.nextLost(this.sndUna, this.sndNxt, this.mss);
    if (l !== -1) this.retransmitAt(l);
    // F-RTO (RFC 5682) on the first timeout out of the open state: the next ACKs tell a delay spike from loss
    if (wasOpen && this.rtt.backoff === 1) this.frto.start(this.sndNxt);
    this.startRtx(this.rtt.current());
    this.output();
  }

  /**
   * RACK's reordering timer (RFC 8985 §6.3, Linux's tcp_rack_reo_timeout): segments that waited
   * out the reordering window without a later ACK are lost; recovery starts if it had not.
   */
  protected reorderFire(now: number): void {
    if (this.sndUna === this.sndNxt || !this.synAcked) return;
    const wait = this.rec.reorderTimeout(now, this.sndUna, this.sndNxt);
    if (wait > 0) this.reoAt = now + wait;
    this.port.counters.inc('rack_reorder_timeout');
    if (this.rec.state === TcpLossState.Open && this.rec.detectLoss(this.sndUna, this.mss, 3)) this.enterRecovery(now, 3);
    this.output();
  }

  /** Fast recovery begins (ack.ts): the window cut and the first retransmission. */
  protected abstract enterRecovery(now: number, thresh: number): void;

  protected persistFire(now: number): void {
    const unsent = seqDiff(seqAdd(this.sndBufSeq, this.sndBuf.length), this.sndNxt);
    const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    if (unsent <= 0 || this.sndUna !== this.sndNxt) {
      this.persist = false;
      this.output();
      return;
    }
    if (wndRoom > 0) {
      // a window too small for SWS avoidance: send what fits (RFC 9293 §3.8.6.2.1 override)
      this.persist = false;
      this.forceRunt = true;
      this.output();
      this.forceRunt = false;
      if (this.sndUna === this.sndNxt) this.startPersist();
      return;
    }
    if (this.opts.userTimeoutMs > 0) {
      if (this.rtxStart < 0) this.rtxStart = now;
      if (this.userTimedOut(now)) {
        this.fail(Errno.ETIMEDOUT);
        return;
      }
    }
    this.statProbes++;
    this.port.counters.inc('tx_zero_window_probe');
    this.sendAck(true);
    this.rtt.onTimeout();
    this.rtxAt = now + this.rtt.current();
  }

  protected keepaliveFire(now: number): void {
    if (this.sndUna !== this.sndNxt || this.sndBuf.length > seqDiff(this.sndNxt, this.sndBufSeq)) {
      // data outstanding: the retransmission timer covers liveness
      this.lastRcvTime = now;
      return;
    }
    const limitByUser = this.opts.userTimeoutMs > 0 && this.keepaliveProbes > 0 && now - this.lastRcvTime >= this.opts.userTimeoutMs;
    if (this.keepaliveProbes >= this.opts.keepCnt || limitByUser) {
      this.port.counters.inc('keepalive_timeout');
      this.fail(Errno.ETIMEDOUT);
      return;
    }
    this.keepaliveProbes++;
    this.lastKeepaliveProbe = now;
    this.port.counters.inc('tx_keepalive');
    this.sendAck(true);
  }
}
