/**
 * An in-memory NetworkControllerBackend for simulations: networks with a /24 each, members
 * authorized by hand and given the next free address, changes announced to the node.
 */
import type {
  ConfigRequest,
  ConfigRequestResult,
  ControllerChange,
  ControllerNetworkConfig,
  ControllerRule,
  NetworkControllerBackend,
} from '../../src/node/controller-link/controller-backend.js';
import { rfc4193Address, sixPlaneAddress } from '../../src/controller/ip-assignment.js';

export interface MemoryNetwork {
  nwid: bigint;
  name: string;
  private: boolean;
  /** First three octets, e.g. "10.147.17". */
  subnet: string;
  rules: ControllerRule[];
  mtu: number;
  credentialTimeMaxDelta: number;
  revision: number;
  nextHost: number;
  /** The computed IPv6 schemes members get (stock's v6AssignMode rfc4193 / 6plane; NDP emulation with them). */
  v6: { rfc4193?: boolean; sixPlane?: boolean };
  /** Extra managed routes (`target` CIDR text, `via` gateway or null). */
  extraRoutes: { target: string; via: string | null }[];
}

interface MemoryMember {
  authorized: boolean;
  ip: string | null;
  requests: number;
}

export class MemoryController implements NetworkControllerBackend {
  readonly networks = new Map<bigint, MemoryNetwork>();
  private readonly members = new Map<string, MemoryMember>();
  private readonly listeners = new Set<(c: ControllerChange) => void>();
  requests = 0;

  constructor(private readonly clock: () => number) {}

  createNetwork(nwid: bigint, opts: Partial<Omit<MemoryNetwork, 'nwid' | 'revision' | 'nextHost'>> = {}): MemoryNetwork {
    const n: MemoryNetwork = {
      nwid,
      name: opts.name ?? 'sim',
      private: opts.private ?? true,
      subnet: opts.subnet ?? '10.147.17',
      rules: opts.rules ?? [{ type: 'ACTION_ACCEPT' }],
      mtu: opts.mtu ?? 2800,
      credentialTimeMaxDelta: opts.credentialTimeMaxDelta ?? 1_800_000,
      revision: 1,
      nextHost: 10,
      v6: opts.v6 ?? {},
      extraRoutes: opts.extraRoutes ?? [],
    };
    this.networks.set(nwid, n);
    return n;
  }

  private key(nwid: bigint, addr: bigint): string {
    return `${nwid.toString(16)}/${addr.toString(16)}`;
  }

  member(nwid: bigint, addr: bigint): MemoryMember {
    const k = this.key(nwid, addr);
    let m = this.members.get(k);
    if (!m) {
      m = { authorized: false, ip: null, requests: 0 };
      this.members.set(k, m);
    }
    return m;
  }

  authorize(nwid: bigint, addr: bigint, ip?: string): string {
    const n = this.networks.get(nwid)!;
    const m = this.member(nwid, addr);
    m.authorized = true;
    m.ip ??= ip ?? `${n.subnet}.${n.nextHost++}`;
    n.revision++;
    this.emit({ nwid, members: [addr] });
    return m.ip;
  }

  deauthorize(nwid: bigint, addr: bigint): void {
    const n = this.networks.get(nwid)!;
    this.member(nwid, addr).authorized = false;
    n.revision++;
    // every member gets a fresh config (and certificate), as stock pushes on deauthorization
    this.emit({ nwid });
  }

  /** Deletes the network: every member is now refused (not found). */
  deleteNetwork(nwid: bigint): void {
    this.networks.delete(nwid);
    this.emit({ nwid, deleted: true });
  }

  /** Changes the network's IPv6 schemes; every member gets a fresh config. */
  setV6(nwid: bigint, v6: MemoryNetwork['v6']): void {
    const n = this.networks.get(nwid)!;
    n.v6 = v6;
    n.revision++;
    this.emit({ nwid });
  }

  setRules(nwid: bigint, rules: ControllerRule[]): void {
    const n = this.networks.get(nwid)!;
    n.rules = rules;
    n.revision++;
    this.emit({ nwid });
  }

  private emit(c: ControllerChange): void {
    for (const l of this.listeners) l(c);
  }

  onChange(listener: (change: ControllerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  request(req: ConfigRequest): ConfigRequestResult {
    this.requests++;
    const n = this.networks.get(req.nwid);
    if (!n) return { ok: false, error: 'NOT_FOUND' };
    const m = this.member(req.nwid, req.address);
    m.requests++;
    if (n.private && !m.authorized) return { ok: false, error: 'ACCESS_DENIED' };
    if (!m.ip) m.ip = `${n.subnet}.${n.nextHost++}`;
    const v6: string[] = [];
    if (n.v6.rfc4193) {
      const a = rfc4193Address(n.nwid, req.address);
      v6.push(`${a.ip}/${a.bits}`);
    }
    if (n.v6.sixPlane) {
      const a = sixPlaneAddress(n.nwid, req.address);
      v6.push(`${a.ip}/${a.bits}`);
    }
    const config: ControllerNetworkConfig = {
      nwid: n.nwid,
      timestamp: this.clock(),
      credentialTimeMaxDelta: n.credentialTimeMaxDelta,
      revision: n.revision,
      issuedTo: req.address,
      name: n.name,
      private: n.private,
      enableBroadcast: true,
      allowPassiveBridging: false,
      ndpEmulation: v6.length > 0,
      mtu: n.mtu,
      multicastLimit: 32,
      routes: [
        { target: `${n.subnet}.0/24`, via: null, flags: 0, metric: 0 },
        ...n.extraRoutes.map((r) => ({ ...r, flags: 0, metric: 0 })),
      ],
      staticIps: [...v6, `${m.ip}/24`],
      rules: n.rules,
      capabilities: [],
      tags: [],
      specialists: [],
      dns: null,
    };
    return { ok: true, config };
  }
}
