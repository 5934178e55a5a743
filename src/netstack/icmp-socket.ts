/**
 * ICMP sockets, as Linux offers them: ping sockets (SOCK_DGRAM + IPPROTO_ICMP, net/ipv4/ping.c)
 * send echo requests stamped with the socket's echo id and receive the echo replies and the
 * errors that carry that id; raw ICMP sockets (SOCK_RAW + IPPROTO_ICMP, net/ipv4/raw.c) send any
 * ICMP message as given and receive a copy of every ICMP packet the stack receives, IP header
 * included, less the types their ICMP_FILTER drops. The stack keeps answering echo requests
 * itself. `IcmpSocketTable` is the ICMP layer's registry of them.
 */
import { IPV6_ANY, type IpAddr, type SocketAddress } from './addr.js';
import { DatagramSocketBase, ERROR_QUOTE_MAX, isGroupAddress, isPort, type DatagramPort } from './datagram-socket.js';
import { Errno } from './errno.js';
import type { RandomSource } from './random.js';
import { PmtuDisc, type DatagramSendOptions, type UdpOptionName, type UdpSocket } from './socket-api.js';
import { HEADROOM, IPPROTO_ICMP, IPPROTO_ICMPV6, IPV4_HEADER_LEN, type IpReceiveInfo, type IpSender } from './transport.js';
import { finish, ipPseudoHeaderSum, sum16 } from './wire/checksum.js';
import { ICMP_DEST_UNREACH, ICMP_ECHO_REQUEST, ICMP_FRAG_NEEDED, ICMP_HEADER_LEN, icmpErrno, setIcmpChecksum } from './wire/icmp.js';
import { ICMPV6_ECHO_REQUEST, ICMPV6_PACKET_TOO_BIG, icmpv6Errno } from './wire/icmpv6.js';

export type IcmpSocketKind = 'ping' | 'raw';

/** Largest ICMP message one IPv4 packet carries (65535 − 20); ICMPv6: 65535 (the payload length excludes the header). */
const ICMP_MAX_MESSAGE = 65535 - IPV4_HEADER_LEN;
const ICMPV6_MAX_MESSAGE = 65535;

export interface IcmpSocketTableDeps {
  /** The table's family (default 4): 6 serves ICMPv6 ping and raw sockets. */
  family?: 4 | 6;
  ip: IpSender<IpAddr>;
  random: RandomSource;
  /** The interface's questions and the stack's groups, as every datagram socket needs them. */
  port: Omit<DatagramPort, 'ip'>;
  /** The echo id the stack's own ping() uses: never given to a ping socket (reserveEchoId may set it later). */
  reservedId?: number;
}

export class IcmpSocket extends DatagramSocketBase implements UdpSocket {
  /** ICMP_FILTER (raw ICMP sockets): bit n set = drop type n. */
  private filter = 0;
  /** ICMP6_FILTER (raw ICMPv6 sockets): bit (t & 31) of word (t >> 5) set = drop type t. */
  private readonly filter6 = new Uint32Array(8);

  constructor(
    private readonly table: IcmpSocketTable,
    readonly kind: IcmpSocketKind,
  ) {
    super(table, table.family);
    // ICMP sockets of family 6 are ICMPv6 sockets: IPv6 only (Linux's IPV6_V6ONLY is moot for them)
    if (table.family === 6) this.v6only = true;
    if (kind === 'raw') table.addRaw(this);
  }

  /** Ping: addr and echo id (0 = a free one). Raw: addr only, the port is ignored. */
  bind(appAddr: IpAddr, port: number): number {
    if (this.closed) return -Errno.EBADF;
    if (!isPort(port)) return -Errno.EINVAL;
    const addr = this.wireAddress(appAddr);
    if (typeof addr === 'number' && addr < 0) return addr === -Errno.ENETUNREACH ? -Errno.EINVAL : addr;
    if (addr !== 0 && addr !== IPV6_ANY && !this.table.ip.isLocalAddress(addr) && !isGroupAddress(this.table, addr))
      return -Errno.EADDRNOTAVAIL;
    if (this.kind === 'raw') {
      this.boundAddr = addr;
      return 0;
    }
    if (this.boundPort !== 0) return -Errno.EINVAL;
    const id = this.table.bindPing(this, port);
    if (id < 0) return id;
    this.boundAddr = addr;
    this.boundPort = id;
    return 0;
  }

  connect(addr: IpAddr, port: number): number {
    return this.associate(addr, port, false, this.kind === 'ping');
  }

  /** Ping: `data` must be an echo request (its id and checksum are set here). Raw: sent as given. */
  sendTo(data: Uint8Array, to?: SocketAddress, opts?: DatagramSendOptions): number {
    if (this.closed) return -Errno.EBADF;
    if (!(data instanceof Uint8Array)) return -Errno.EINVAL;
    let dst: IpAddr;
    if (to) {
      if (!isPort(to.port)) return -Errno.EINVAL;
      dst = this.wireAddress(to.addr);
      if (typeof dst === 'number' && dst < 0) return dst;
    } else {
      if (!this.connected) return -Errno.EDESTADDRREQ;
      const e = this.takeError();
      if (e !== 0) return -e;
      dst = this.remoteAddr;
    }
    const v6 = this.table.family === 6;
    if (data.length > (v6 ? ICMPV6_MAX_MESSAGE : ICMP_MAX_MESSAGE) || data.length > this.sndbuf) return -Errno.EMSGSIZE;
    const echoRequest = v6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
    if (this.kind === 'ping' && (data.length < ICMP_HEADER_LEN || data[0] !== echoRequest || data[1] !== 0)) return -Errno.EINVAL;
    if (this.table.isBroadcast(dst) && !this.broadcast) return -Errno.EACCES;
    if (this.kind === 'ping' && this.boundPort === 0) {
      const r = this.bind(v6 ? IPV6_ANY : 0, 0);
      if (r < 0) return r;
    }
    const src = this.prepareSend(dst, data.length, opts);
    if (typeof src === 'number' && src < 0) return src;
    const buf = Buffer.allocUnsafe(HEADROOM + data.length);
    buf.set(data, HEADROOM);
    if (this.kind === 'ping') {
      buf[HEADROOM + 4] = this.boundPort >>> 8;
      buf[HEADROOM + 5] = this.boundPort & 0xff;
    }
    if (v6) {
      // ICMPv6's checksum covers the IPv6 pseudo-header: the stack computes it, for raw sockets too (IPV6_CHECKSUM 2)
      if (data.length >= 4) {
        buf[HEADROOM + 2] = 0;
        buf[HEADROOM + 3] = 0;
        const c = finish(sum16(buf, HEADROOM, buf.length) + ipPseudoHeaderSum(src, dst, IPPROTO_ICMPV6, data.length));
        buf[HEADROOM + 2] = c >>> 8;
        buf[HEADROOM + 3] = c & 0xff;
      }
    } else if (this.kind === 'ping') setIcmpChecksum(buf, HEADROOM, buf.length);
    const r = this.table.ip.send(v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, src, dst, buf, HEADROOM, this.ipOpts);
    if (r < 0) {
      this.table.counters.inc('socket_tx_error');
      return r;
    }
    this.table.counters.inc(this.kind === 'ping' ? 'ping_socket_tx' : 'raw_socket_tx');
    return data.length;
  }

  override setIcmp6Filter(words: readonly number[]): number {
    if (this.kind !== 'raw' || this.table.family !== 6) return -Errno.ENOPROTOOPT;
    if (!Array.isArray(words) || words.length !== 8 || !words.every((w) => Number.isInteger(w) && w >= -0x80000000 && w <= 0xffffffff))
      return -Errno.EINVAL;
    for (let i = 0; i < 8; i++) this.filter6[i] = words[i]! >>> 0;
    return 0;
  }

  override getIcmp6Filter(): number[] | number {
    if (this.kind !== 'raw' || this.table.family !== 6) return -Errno.ENOPROTOOPT;
    return [...this.filter6];
  }

  override setOption(name: UdpOptionName, value: number): number {
    if (name !== 'ICMP_FILTER') return super.setOption(name, value);
    // ICMPv6 sockets filter with ICMP6_FILTER instead
    if (this.kind !== 'raw' || this.table.family === 6) return -Errno.ENOPROTOOPT;
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) return -Errno.EINVAL;
    this.filter = value >>> 0;
    return 0;
  }

  override getOption(name: UdpOptionName): number {
    if (name !== 'ICMP_FILTER') return super.getOption(name);
    return this.kind === 'raw' && this.table.family === 4 ? this.filter : -Errno.ENOPROTOOPT;
  }

  localAddress(): SocketAddress | null {
    // a raw socket is bound from the start, its "port" the protocol (as Linux's inet_num)
    if (this.kind === 'raw') return { addr: this.presented(this.boundAddr), port: this.table.family === 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP };
    return this.boundPort === 0 ? null : { addr: this.presented(this.boundAddr), port: this.boundPort };
  }

  remoteAddress(): SocketAddress | null {
    return this.connected ? { addr: this.presented(this.remoteAddr), port: this.remotePort } : null;
  }

  close(): void {
    if (this.closed) return;
    if (this.kind === 'raw') this.table.removeRaw(this);
    else if (this.boundPort !== 0) this.table.unbindPing(this, this.boundPort);
    this.closeBase();
  }

  /** Raw: whether a packet of ICMP `type` (-1: any) from src to local address dst is for this socket. */
  rawAccepts(type: number, src: IpAddr, dst: IpAddr): boolean {
    if (this.closed) return false;
    if (this.table.family === 6) {
      if (type >= 0 && type < 256 && (this.filter6[type >>> 5]! & (1 << (type & 31))) !== 0) return false;
    } else if (type >= 0 && type < 32 && (this.filter & (1 << type)) !== 0) return false;
    if (this.boundAddr !== 0 && this.boundAddr !== IPV6_ANY && this.boundAddr !== dst) return false;
    return !this.connected || this.remoteAddr === src;
  }
}

/**
 * What an ICMP layer uses of its table of ping and raw sockets: IcmpLayer (IPv4) builds its own;
 * the stack builds the IPv6 one (`new IcmpSocketTable({ family: 6, … })`) and hands it to
 * Icmpv6Layer, which calls these with ICMPv6 messages (ICMPv6 header first, no IP header) and
 * IPv6 addresses. Echo ids: the layer's own ping() id is passed to `reserveEchoId` so no ping
 * socket gets it. For family 6 the table stamps echo ids and computes ICMPv6 checksums (with the
 * IPv6 pseudo-header) of what its sockets send; raw ICMPv6 sockets receive messages without an
 * IP header, as on Linux.
 */
export interface IcmpSocketHub {
  readonly family: 4 | 6;
  /** A new ping or raw socket of the table's family. */
  socket(kind: IcmpSocketKind): IcmpSocket;
  /** The echo id the layer's own ping() uses: never given to a ping socket. */
  reserveEchoId(id: number): void;
  /** An echo reply (the whole ICMP message): to the ping socket with its id. False when none has it. */
  echoReply(info: IpReceiveInfo, id: number, message: Buffer): boolean;
  /** A copy of a received ICMP message for every raw socket that accepts it (after the layer's own processing). */
  deliverRaw(info: IpReceiveInfo, type: number, message: Buffer): void;
  /**
   * An ICMP error quoting an ICMP message we sent (`quoted`: the quoted ICMP message's start; src/dst
   * the quoted packet's addresses): to the ping socket whose echo request it was and to raw sockets.
   */
  error(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, nextHopMtu: number, offender: IpAddr): void;
  /** Closes every socket. */
  close(): void;
}

export class IcmpSocketTable implements DatagramPort, IcmpSocketHub {
  readonly family: 4 | 6;
  readonly ip: IpSender<IpAddr>;
  readonly counters: DatagramPort['counters'];
  readonly groups: DatagramPort['groups'];
  private readonly deps: IcmpSocketTableDeps;
  private readonly pings = new Map<number, IcmpSocket[]>();
  private readonly raws: IcmpSocket[] = [];
  private reservedId: number;

  constructor(deps: IcmpSocketTableDeps) {
    this.deps = deps;
    this.family = deps.family ?? 4;
    this.reservedId = deps.reservedId ?? -1;
    this.ip = deps.ip;
    this.counters = deps.port.counters;
    this.groups = deps.port.groups;
  }

  socket(kind: IcmpSocketKind): IcmpSocket {
    return new IcmpSocket(this, kind);
  }

  reserveEchoId(id: number): void {
    this.reservedId = id;
  }

  isBroadcast(addr: IpAddr): boolean {
    return this.deps.port.isBroadcast(addr);
  }
  isOwnAddress(addr: number): boolean {
    return this.deps.port.isOwnAddress(addr);
  }
  primaryAddress(): number | null {
    return this.deps.port.primaryAddress();
  }
  linkMaxPayload(): number {
    return this.deps.port.linkMaxPayload();
  }

  /** Takes echo id `id` (0 = a free one) for `s`; returns the id or -EADDRINUSE. */
  bindPing(s: IcmpSocket, id: number): number {
    if (id === 0) {
      const start = this.deps.random.u32() & 0xffff;
      for (let i = 0; i < 0x10000 && id === 0; i++) {
        const c = (start + i) & 0xffff;
        if (c !== 0 && c !== this.reservedId && !this.pings.has(c)) id = c;
      }
      if (id === 0) return -Errno.EADDRINUSE;
    } else {
      if (id === this.reservedId) return -Errno.EADDRINUSE;
      for (const o of this.pings.get(id) ?? []) if (!(s.reuseAddr && o.reuseAddr)) return -Errno.EADDRINUSE;
    }
    const list = this.pings.get(id);
    if (list) list.push(s);
    else this.pings.set(id, [s]);
    return id;
  }

  unbindPing(s: IcmpSocket, id: number): void {
    const list = this.pings.get(id);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.pings.delete(id);
  }

  addRaw(s: IcmpSocket): void {
    this.raws.push(s);
  }

  removeRaw(s: IcmpSocket): void {
    const i = this.raws.indexOf(s);
    if (i >= 0) this.raws.splice(i, 1);
  }

  /** The ping socket an echo reply with `id` to local address `dst` belongs to (as Linux's ping_lookup). */
  private pingSocket(id: number, dst: IpAddr): IcmpSocket | null {
    const list = this.pings.get(id);
    if (!list) return null;
    for (const s of list) if (!s.isClosed && (s.boundAddr === 0 || s.boundAddr === IPV6_ANY || s.boundAddr === dst)) return s;
    return null;
  }

  /** An echo reply (the whole ICMP message): to the ping socket with its id. False when none has it. */
  echoReply(info: IpReceiveInfo, id: number, message: Buffer): boolean {
    const s = this.pingSocket(id, info.dst);
    if (!s) return false;
    this.counters.inc('rx_echo_reply_to_socket');
    s.enqueue(Buffer.from(message), info.src, 0, info.dst, info.tos, info.ttl);
    return true;
  }

  /** A copy of an ICMP packet (IP header + message) for every raw socket that accepts it. */
  deliverRaw(info: IpReceiveInfo, type: number, message: Buffer): void {
    if (this.raws.length === 0) return;
    const packet = info.packet;
    const hl = packet ? message.byteOffset - packet.byteOffset : -1;
    for (const s of [...this.raws]) {
      if (!s.rawAccepts(type, info.src, info.dst)) {
        this.counters.inc('raw_filtered');
        continue;
      }
      // a copy each: the frame's buffer is the link's, and every socket keeps its own
      // raw ICMPv6 sockets get the message without its IP header, as Linux
      const copy =
        this.family === 4 && packet && hl >= IPV4_HEADER_LEN ? Buffer.from(packet.subarray(0, hl + message.length)) : Buffer.from(message);
      this.counters.inc('raw_delivered');
      s.enqueue(copy, info.src, 0, info.dst, info.tos, info.ttl);
    }
  }

  /**
   * An ICMP error quoting an ICMP message we sent (`quoted`: its start): to the ping socket whose
   * echo request it was, and to raw sockets, each when it hears errors (connected or IP_RECVERR).
   */
  error(type: number, code: number, src: IpAddr, dst: IpAddr, quoted: Buffer, nextHopMtu: number, offender: IpAddr): void {
    const v6 = this.family === 6;
    const errno = v6 ? icmpv6Errno(type, code) : icmpErrno(type, code);
    if (errno === 0) return;
    const fragNeeded = v6 ? type === ICMPV6_PACKET_TOO_BIG : type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED;
    const targets: IcmpSocket[] = [];
    if (quoted[0] === (v6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO_REQUEST) && quoted.length >= ICMP_HEADER_LEN) {
      const s = this.pingSocket((quoted[4]! << 8) | quoted[5]!, src);
      if (s) targets.push(s);
    }
    for (const s of this.raws) if (s.rawAccepts(-1, dst, src)) targets.push(s);
    let told = 0;
    for (const s of targets) {
      const heard = s.hearsErrors() && (!s.connected || s.remoteAddr === dst) && !(fragNeeded && s.pmtuDisc === PmtuDisc.DONT);
      if (!heard) continue;
      told++;
      s.icmpError({
        errno,
        offender,
        type,
        code,
        info: fragNeeded ? nextHopMtu : 0,
        dst: { addr: dst, port: 0 },
        payload: Buffer.from(quoted.subarray(0, ERROR_QUOTE_MAX)),
      });
    }
    this.counters.inc(told > 0 ? 'icmp_error_to_socket' : 'icmp_error_no_socket');
  }

  close(): void {
    for (const l of [...this.pings.values()]) for (const s of [...l]) s.close();
    for (const s of [...this.raws]) s.close();
  }
}
