/**
 * MLDv2 reports for the stack's IPv6 groups (RFC 3810, host side), so that multicast subscriptions
 * reach the network: when a group is joined or left, a state-change report (CHANGE_TO_EXCLUDE {} /
 * CHANGE_TO_INCLUDE {}) goes to ff02::16 and is repeated once after a random delay of up to 1 s
 * (Robustness Variable 2, Unsolicited Report Interval 1 s); a query is answered with a current-state
 * report (MODE_IS_EXCLUDE {} per group) after a random delay within its maximum response delay. Each
 * report carries a hop-by-hop router alert, hop limit 1, and comes from our link-local address (or
 * :: before we have one, §5.2.13). ff02::1 and interface-local groups are never reported (§6).
 * ZeroTier has no querier: the overlay subscribes the groups from `multicastGroups()`; the reports
 * are for routers and snooping switches on bridged networks.
 */
import { IPV6_ALL_NODES, IPV6_ANY, type IpAddr, type Ipv6Addr } from './addr.js';
import type { Scheduler, Timer } from './clock.js';
import type { Counters } from './counters.js';
import type { MulticastGroups } from './multicast-groups.js';
import type { RandomSource } from './random.js';
import { HEADROOM, type IpSendOptions } from './transport.js';
import { emitRouterAlertHopByHop, NH_HOP_BY_HOP, NH_ICMPV6 } from './wire/ipv6.js';
import {
  emitMld2Report,
  MLD2_RECORD_LEN,
  MLD2_REPORT_HEADER_LEN,
  MLD_CHANGE_TO_EXCLUDE,
  MLD_CHANGE_TO_INCLUDE,
  MLD_MODE_IS_EXCLUDE,
  MLDV2_ROUTERS,
  MldQuery,
  parseMldQuery,
} from './wire/mld.js';

/** What MLD needs of the IPv6 layer. */
export interface MldPort {
  readonly addrs: { linkLocal(): Ipv6Addr | null };
  output(protocol: number, src: Ipv6Addr, dst: Ipv6Addr, packet: Buffer, offset: number, opts?: IpSendOptions): number;
}

export interface MldReporterDeps {
  ip: MldPort;
  groups: MulticastGroups;
  scheduler: Scheduler;
  random: RandomSource;
  counters: Counters;
}

const HOP_BY_HOP_LEN = 8;
/** Records per report so one fits the minimum MTU (1280 − 40 − 8 − 8) / 20. */
const RECORDS_PER_REPORT = Math.floor((1280 - 40 - HOP_BY_HOP_LEN - MLD2_REPORT_HEADER_LEN) / MLD2_RECORD_LEN);
const UNSOLICITED_REPORT_INTERVAL_MS = 1000;
const MLD_OPTS: IpSendOptions = { ttl: 1, multicastLoop: false };

/** Groups MLD reports: IPv6, link-local scope or wider, not ff02::1. */
export function reportable(g: IpAddr): g is Ipv6Addr {
  return typeof g === 'string' && g !== IPV6_ALL_NODES && parseInt(g[3]!, 16) >= 2;
}

export class MldReporter {
  private readonly ip: MldPort;
  private readonly scheduler: Scheduler;
  private readonly random: RandomSource;
  private readonly counters: Counters;
  /** The groups as last reported. */
  private reported = new Set<Ipv6Addr>();
  /** State changes to repeat once. */
  private repeatJoin = new Set<Ipv6Addr>();
  private repeatLeave = new Set<Ipv6Addr>();
  private repeatTimer: Timer | null = null;
  private queryTimer: Timer | null = null;
  private readonly query = new MldQuery();
  private readonly stop: () => void;

  constructor(deps: MldReporterDeps) {
    this.ip = deps.ip;
    this.scheduler = deps.scheduler;
    this.random = deps.random;
    this.counters = deps.counters;
    this.stop = deps.groups.onChanged((all) => this.changed(all));
  }

  private changed(all: IpAddr[]): void {
    const now = new Set(all.filter(reportable));
    const joined = [...now].filter((g) => !this.reported.has(g));
    const left = [...this.reported].filter((g) => !now.has(g));
    this.reported = now;
    if (joined.length > 0) this.send(MLD_CHANGE_TO_EXCLUDE, joined);
    if (left.length > 0) this.send(MLD_CHANGE_TO_INCLUDE, left);
    for (const g of joined) {
      this.repeatLeave.delete(g);
      this.repeatJoin.add(g);
    }
    for (const g of left) {
      this.repeatJoin.delete(g);
      this.repeatLeave.add(g);
    }
    if (this.repeatTimer === null && (this.repeatJoin.size > 0 || this.repeatLeave.size > 0)) {
      const delay = (this.random.u32() / 4294967296) * UNSOLICITED_REPORT_INTERVAL_MS;
      this.repeatTimer = this.scheduler.setTimer(delay, () => {
        this.repeatTimer = null;
        const j = [...this.repeatJoin].filter((g) => this.reported.has(g));
        const l = [...this.repeatLeave].filter((g) => !this.reported.has(g));
        this.repeatJoin.clear();
        this.repeatLeave.clear();
        if (j.length > 0) this.send(MLD_CHANGE_TO_EXCLUDE, j);
        if (l.length > 0) this.send(MLD_CHANGE_TO_INCLUDE, l);
      });
    }
  }

  /** An MLD query (v1 or v2): a current-state report of every group (or the one asked about) after a random delay. */
  queryIn(message: Buffer): void {
    if (parseMldQuery(message, this.query) !== 0) {
      this.counters.inc('rx_mld_bad_query');
      return;
    }
    this.counters.inc('rx_mld_query');
    if (this.queryTimer !== null) return;
    const group = this.query.group;
    const delay = (this.random.u32() / 4294967296) * Math.min(this.query.maxResponseMs, 10_000);
    this.queryTimer = this.scheduler.setTimer(delay, () => {
      this.queryTimer = null;
      const gs = group === '' ? [...this.reported] : this.reported.has(group) ? [group] : [];
      if (gs.length > 0) this.send(MLD_MODE_IS_EXCLUDE, gs.sort());
    });
  }

  private send(type: number, groups: Ipv6Addr[]): void {
    const src = this.ip.addrs.linkLocal() ?? IPV6_ANY;
    for (let i = 0; i < groups.length; i += RECORDS_PER_REPORT) {
      const part = groups.slice(i, i + RECORDS_PER_REPORT);
      const len = MLD2_REPORT_HEADER_LEN + part.length * MLD2_RECORD_LEN;
      const buf = Buffer.allocUnsafe(HEADROOM + HOP_BY_HOP_LEN + len);
      emitRouterAlertHopByHop(buf, HEADROOM, NH_ICMPV6, 0);
      emitMld2Report(buf, HEADROOM + HOP_BY_HOP_LEN, type, part, src, MLDV2_ROUTERS);
      const r = this.ip.output(NH_HOP_BY_HOP, src, MLDV2_ROUTERS, buf, HEADROOM, MLD_OPTS);
      this.counters.inc(r === 0 ? 'tx_mld_report' : 'tx_mld_error');
    }
  }

  close(): void {
    this.stop();
    this.repeatTimer?.cancel();
    this.queryTimer?.cancel();
    this.repeatTimer = this.queryTimer = null;
  }
}
