/**
 * A connection's state (RFC 9293's TCB): identity, sequence spaces, buffers, what was negotiated,
 * the congestion and loss-recovery state, deadlines, pending events and statistics. The files
 * above it each add one job on top — `sender.ts` (output and retransmission), `timers.ts`,
 * `ack.ts` (the sender's side of arriving ACKs), `receiver.ts` (acceptability and data),
 * `handshake.ts` and `tcp-connection.ts` (the application's socket and teardown) — and talk to
 * the layer only through the `TcpPort` handed in.
 */
import type { IpAddr } from '../addr.js';
import type { TcpSocketHandlers, TcpStateName } from '../socket-api.js';
import { TcpOptionsOut } from '../wire/tcp.js';
import type { CongestionControl } from './congestion/congestion.js';
import { HyStart } from './congestion/hystart.js';
import { CongestionAlgo, createCongestionControl } from './congestion/select.js';
import { DEFAULT_MSS } from './constants.js';
import { DeliveryRate } from './delivery-rate.js';
import type { TcpListener } from './listener.js';
import type { LossRecovery } from './loss-recovery.js';
import type { TcpOptions } from './options.js';
import type { TcpPort } from './port.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { Reassembly } from './reassembly.js';
import { RenoRecovery } from './reno-recovery.js';
import { RttEstimator } from './rtt-estimator.js';
import { TcpEcn } from './ecn.js';
import { Frto } from './frto.js';
import { ProportionalRateReduction } from './prr.js';
import { SendBuffer } from './send-buffer.js';
import { TailLossProbe } from './tlp.js';
import { RecoveryUndo } from './undo.js';

// pending event bits, flushed to the handlers at the end of the unit of work
export const EV_READABLE = 1;
export const EV_WRITABLE = 2;
export const EV_CONNECT = 4;
export const EV_ACCEPTABLE = 8;
export const EV_ERROR = 16;
export const EV_CLOSE = 32;

export abstract class TcpControlBlock {
  handlers: TcpSocketHandlers = {};
  protected _state: TcpStateName = 'CLOSED';

  // identity
  /** The socket's family: 6 takes and reports IPv6 addresses (IPv4 peers as ::ffff:a.b.c.d). */
  family: 4 | 6 = 4;
  /**
   * Addresses as on the wire: a number for IPv4 traffic (also on a family-6 socket), a string for
   * IPv6. 0 = unset; a family-6 socket bound to :: has IPV6_ANY.
   */
  localAddr: IpAddr = 0;
  localPort = 0;
  remoteAddr: IpAddr = 0;
  remotePort = 0;
  /** Key in the layer's connection table, '' when not registered. */
  key = '';
  /** Holds a port in the layer's bind table. */
  bound = false;

  // as a listener's child
  /** The listener whose queues hold this connection until accept() takes it. */
  parent: TcpListener<TcpControlBlock> | null = null;
  /** Handed to accept() (or still queued when false). */
  accepted = false;

  // send sequence space
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  protected sndWl1 = 0;
  protected sndWl2 = 0;
  protected maxSndWnd = 0;
  protected sndShift = 0;
  protected readonly sndBuf = new SendBuffer();
  /** Sequence number of sndBuf.start. */
  protected sndBufSeq = 0;
  protected finQueued = false;
  protected finSent = false;
  protected finSeq = 0;
  protected synAcked = false;

  // receive sequence space
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window last advertised (never moves left). */
  protected rcvAdvRight = 0;
  protected rcvShift = 0;
  protected readonly rcvQueue = new ReceiveBuffer();
  protected readonly ooo = new Reassembly();
  protected finReceived = false;
  protected rdShut = false;
  protected wrShut = false;
  protected lastAckSent = 0;

  // negotiated
  protected peerMss = DEFAULT_MSS;
  /** Payload bytes per full segment (MSS minus options always sent). */
  mss = DEFAULT_MSS;
  protected tsEnabled = false;
  protected tsRecent = 0;
  protected tsRecentAge = 0;
  protected tsOffset = 0;
  /** The peer agreed to SACK: we send SACK blocks (and D-SACK), and recover with `SackRecovery`. */
  protected sackEnabled = false;
  protected wsOffered = false;

  // congestion / recovery
  cc: CongestionControl;
  readonly rtt = new RttEstimator();
  /** Loss detection and recovery: SACK or NewReno, chosen when the handshake settles SACK. */
  protected rec: LossRecovery = new RenoRecovery(0);
  protected readonly hystart = new HyStart();
  /** Delivery-rate samples for model-based congestion control (BBR). */
  protected readonly rate = new DeliveryRate();
  /** Pacing: the earliest time the next segment may leave (when cc.pacingRate > 0). */
  protected paceNext = 0;
  /** The last output() stopped for the pacer alone (data and window were there): time lost since is owed. */
  protected pacerHeld = false;
  /** How far (ms) the schedule may lag the clock during this output(): see TcpSender.accountSend. */
  protected paceCatchUpMs = 0;
  protected hsRoundEnd = 0;
  /** When this connection last told the IP layer its peer is reachable (IPv6 neighbor hint), ms. */
  protected reachableHintAt = -Infinity;
  protected rttSeq = 0;
  protected rttTime = -1;
  // a D-SACK block to report in the next segment (RFC 2883)
  protected dsackLeft = 0;
  protected dsackRight = 0;
  protected hasDsack = false;

  // deadlines (absolute ms; Infinity = off), served by timers.ts
  protected rtxAt = Infinity;
  /** rtxAt is the persist (zero-window probe) timer. */
  protected persist = false;
  /** rtxAt is a tail loss probe, not the RTO. */
  protected tlp = false;
  /** The tail loss probe episode (RFC 8985 §7): at most one probe outstanding. */
  protected readonly probe = new TailLossProbe();
  /** How much CUBIC/NewReno send per ACK during fast recovery (RFC 6937). */
  protected readonly prr = new ProportionalRateReduction();
  /** What a needless reduction restores (Eifel, D-SACK; RFC 3522/4015, RFC 2883). */
  protected readonly undo = new RecoveryUndo();
  /** F-RTO (RFC 5682): deciding whether the last RTO was spurious. */
  protected readonly frto = new Frto();
  /** ECN (RFC 3168) state, and the ECN field of the segment being processed. */
  protected readonly ecn = new TcpEcn();
  rxEcn = 0;
  /** RACK's reordering timer: segments waiting out the reordering window are due then. */
  protected reoAt = Infinity;
  /** Send a window-limited runt despite SWS avoidance (the persist timer's override). */
  protected forceRunt = false;
  protected delackAt = Infinity;
  protected corkAt = Infinity;
  /** The pacing timer: output held back until then. */
  protected paceAt = Infinity;
  protected finWait2At = Infinity;
  protected keepaliveProbes = 0;
  protected lastKeepaliveProbe = 0;
  protected lastRcvTime = 0;
  protected retries = 0;
  /** When the current run of retransmissions started (for USER_TIMEOUT), -1 = none. */
  protected rtxStart = -1;
  /** A 0-ms check of the path MTU is scheduled after a send failed with -EMSGSIZE. */
  protected mtuCheckPending = false;

  // receiver ACK policy
  protected unackedBytes = 0;
  protected ackNow = false;
  /** Two full segments arrived unacknowledged: ACK now, or at the end of the receive burst. */
  protected ackSoon = false;
  protected lastOowAck = -Infinity;

  // user-visible state
  protected pendingError = 0;
  protected readError = 0;
  protected userClosed = false;
  protected wantWritable = false;
  protected everConnected = false;
  /** Pending handler events (bits), flushed by the layer. */
  pendingEvents = 0;
  queuedForEvents = false;
  protected errorToReport = 0;

  // statistics
  protected statRetransmits = 0;
  protected statFastRetransmits = 0;
  protected statRtoTimeouts = 0;
  protected statBytesSent = 0;
  protected statBytesAcked = 0;
  protected statBytesReceived = 0;
  protected statSegsOut = 0;
  protected statSegsIn = 0;
  protected statProbes = 0;

  /** Options of the segment being built (reused: no allocation per segment). */
  protected readonly opt = new TcpOptionsOut();

  constructor(
    readonly port: TcpPort<TcpControlBlock>,
    readonly opts: TcpOptions,
  ) {
    this.cc = createCongestionControl(CongestionAlgo.Cubic, DEFAULT_MSS);
  }

  /** A new congestion controller from the options (connection set up, or TCP_CONGESTION changed). */
  protected resetCongestion(): void {
    this.cc = createCongestionControl(this.opts.congestion, this.mss, this.iss);
    this.rate.reset(this.port.scheduler.now());
    this.paceNext = 0;
    this.pacerHeld = false;
    this.paceAt = Infinity;
  }

  get state(): TcpStateName {
    return this._state;
  }

  /** Our timestamp clock (RFC 7323): ms since an origin private to this 4-tuple. */
  /**
   * Forward progress on an IPv6 connection: tell the IP layer its neighbor is reachable, at most
   * once a second (so a busy transfer's neighbor entry never decays into probing, whose messages a
   * full queue could lose).
   */
  protected hintReachable(now: number): void {
    if (now - this.reachableHintAt < 1000) return;
    this.reachableHintAt = now;
    this.port.ip.confirmReachable?.(this.remoteAddr);
  }

  protected tsNow(): number {
    return (Math.floor(this.port.scheduler.now()) + this.tsOffset) >>> 0;
  }

  queueEvent(bits: number): void {
    this.pendingEvents |= bits;
    if (!this.queuedForEvents) {
      this.queuedForEvents = true;
      this.port.queueEvents(this);
    }
  }

  // Provided by the files above (one concrete class, so these calls stay monomorphic).
  /** Arms the connection's one scheduler timer for its earliest deadline. */
  abstract armTimer(): void;
  /** Hard failure: report errno, go to CLOSED. */
  abstract fail(errno: number): void;
  /** Sends RST when synchronized and closes, reporting `errno` if non-zero. */
  abstract resetAndClose(errno: number): void;
  abstract toClosed(): void;
  protected abstract enterTimeWait(): void;
}
