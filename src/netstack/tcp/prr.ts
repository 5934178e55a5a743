/**
 * Proportional Rate Reduction (RFC 6937, as Linux's tcp_cwnd_reduction): how much a loss-based
 * sender (CUBIC, NewReno) may send on each ACK during fast recovery. While more is in flight than
 * the new ssthresh, sending follows delivery in the ratio ssthresh / RecoverFS, so the window
 * comes down smoothly instead of in one step followed by silence; once pipe falls below ssthresh,
 * the slow-start reduction bound (PRR-SSRB) lets it grow back by at most one segment more than
 * was delivered. BBR keeps its own packet conservation and does not use this.
 */
export class ProportionalRateReduction {
  active = false;
  /** RFC 6937's RecoverFS: what was outstanding (SND.NXT − SND.UNA) when recovery began. */
  private recoverFs = 1;
  /** Bytes delivered to the peer (cumulatively or by SACK) since recovery began. */
  delivered = 0;
  /** Bytes sent since recovery began. */
  out = 0;

  /** Fast recovery begins with `recoverFs` bytes outstanding. */
  start(recoverFs: number): void {
    this.active = true;
    this.recoverFs = Math.max(1, recoverFs);
    this.delivered = 0;
    this.out = 0;
  }

  stop(): void {
    this.active = false;
  }

  /** Data left during recovery. */
  onSent(bytes: number): void {
    this.out += bytes;
  }

  /**
   * An ACK during recovery delivered `deliveredData` bytes; returns how many bytes may be sent
   * now (sndcnt), given `pipe` after the ACK and the new `ssthresh`.
   */
  onAck(deliveredData: number, pipe: number, ssthresh: number, mss: number): number {
    this.delivered += deliveredData;
    let sndcnt: number;
    if (pipe > ssthresh) {
      // proportional: ceil(prr_delivered * ssthresh / RecoverFS) - prr_out
      sndcnt = Math.ceil((this.delivered * ssthresh) / this.recoverFs) - this.out;
    } else {
      // PRR-SSRB: back towards ssthresh, at most one segment beyond what was delivered
      const limit = Math.max(this.delivered - this.out, deliveredData) + mss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    return sndcnt > 0 ? sndcnt : 0;
  }
}
