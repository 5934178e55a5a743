/**
 * Overlay benchmark.
 *
 * Armor: Gbit/s of 2800-byte ZeroTier packets through armor + dearmor (one sender's and one
 * receiver's work per packet, on one core) for cipher 1 (Salsa20/12 + Poly1305, TypeScript) and
 * cipher 3 (AES-GMAC-SIV: node:crypto objects per packet, and the native binding's reused OpenSSL
 * contexts when built), beside the reference measured in the same run: node:crypto AES-256-GCM
 * encrypt + decrypt of the same payload with a fresh cipher object per packet, the cheapest
 * authenticated encryption node:crypto offers per packet.
 *
 * Node to node: a private planet on 127.0.0.1 whose root also controls a private network, and two
 * member nodes, each with its own UDP socket, all in this one process (so one core does both
 * ends, the root and the kernel's loopback work). A TCP stream goes from one member's netstack to
 * the other's over the overlay (cipher 3, direct loopback path), beside the netstack-only figure
 * of the same run: the same two kinds of netstack at the same MTU joined by an in-memory link on
 * the same real-time scheduler. Received bytes are checked by SHA-256.
 *
 * Ping-pong: on the same two pairs, a 1-byte TCP ping-pong (TCP_NODELAY): round-trip p50/p99 and
 * the CPU this process spends per round trip — the per-packet cost of every layer between two
 * stacks (switch, armor, network, UDP), which request/response traffic pays on each exchange.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { NetworkController } from '../src/controller/index.js';
import { defaultNetworkSettings } from '../src/controller/types.js';
import { CheckedStream } from '../src/netstack/checked-stream.js';
import { RealScheduler } from '../src/netstack/clock.js';
import { Errno } from '../src/netstack/index.js';
import type { NetStack } from '../src/netstack/stack-api.js';
import { armor, dearmor, setNativeArmor, type ArmorCipher } from '../src/node/packet/armor.js';
import {
  type AssembledNode,
  assembleNode,
  createPrivatePlanet,
  Identity,
  loopbackOnly,
  NativeUdpTransport,
  type NetworksOptions,
  planetFromWorld,
} from '../src/node/index.js';
import { linkedStacks } from './_linked-stacks.js';

const PACKET_BYTES = 2800;
const SECONDS_PER_CASE = 2;

interface Figure {
  name: string;
  gbps: number;
  usPerPacket: number;
}

/** Runs fn in batches until SECONDS_PER_CASE have passed; returns packets per second. */
function measure(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  const batch = 500;
  let n = 0;
  const start = process.hrtime.bigint();
  const limit = BigInt(SECONDS_PER_CASE * 1e9);
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    elapsed = process.hrtime.bigint() - start;
  }
  return n / (Number(elapsed) / 1e9);
}

function figure(name: string, perSecond: number): Figure {
  return { name, gbps: (perSecond * PACKET_BYTES * 8) / 1e9, usPerPacket: 1e6 / perSecond };
}

function armorCase(cipher: ArmorCipher, label: string): Figure {
  const key = randomBytes(48);
  const template = randomBytes(PACKET_BYTES);
  template[18] = 0;
  const pkt = Buffer.from(template);
  const fn = (): void => {
    // fresh packet id each time, as a sender does
    pkt.writeUInt32LE((pkt.readUInt32LE(0) + 1) >>> 0, 0);
    armor(pkt, key, cipher);
    if (!dearmor(pkt, key)) throw new Error(`overlay bench: cipher ${cipher} round trip failed`);
  };
  fn();
  if (!pkt.subarray(27).equals(template.subarray(27))) throw new Error('overlay bench: payload changed');
  return figure(`armor+dearmor cipher ${cipher} ${label}`, measure(fn));
}

function gcmReference(): Figure {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const payload = randomBytes(PACKET_BYTES - 27);
  const fn = (): void => {
    iv.writeUInt32LE((iv.readUInt32LE(0) + 1) >>> 0, 0);
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = c.update(payload);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  };
  return figure('node:crypto AES-256-GCM enc+dec (reference)', measure(fn));
}

const STREAM_BYTES = 48 * 1024 * 1024;
const STREAM_MTU = 2800;
const STREAM_TIMEOUT_MS = 180_000;

interface StreamFigure {
  gbps: number;
  seconds: number;
  bytes: number;
  cpuMsPerMB: number;
  /** The part of cpuMsPerMB spent in the kernel (UDP sends and receives on loopback). */
  sysMsPerMB: number;
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) return resolve();
      if (Date.now() > end) return reject(new Error(`overlay bench: timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

/** One TCP stream of STREAM_BYTES from `client` to a listener on `server`, timed on the wall clock. */
async function stream(client: NetStack, server: NetStack, serverIp: number, port: number): Promise<StreamFigure> {
  const block = randomBytes(256 * 1024);
  const sent = createHash('sha256');
  for (let off = 0; off < STREAM_BYTES; off += block.length) sent.update(block.subarray(0, Math.min(block.length, STREAM_BYTES - off)));
  const sentDigest = sent.digest('hex');
  const s = new CheckedStream(client, server, serverIp, port, {
    total: STREAM_BYTES,
    bytesAt: (off) => {
      const at = off % block.length;
      return block.subarray(at, Math.min(block.length, at + STREAM_BYTES - off));
    },
    readBytes: 1 << 20,
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  s.connect();
  try {
    await waitFor(() => s.finished(), STREAM_TIMEOUT_MS, 'the TCP stream');
  } finally {
    s.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const received = s.received;
  if (s.failed !== null) throw new Error(`overlay bench: TCP failed with errno ${s.failed} after ${received} bytes`);
  if (received !== STREAM_BYTES || s.receivedSha256() !== sentDigest)
    throw new Error(`overlay bench: stream corrupted (${received} bytes)`);
  const mb = received / 1e6;
  return {
    gbps: (received * 8) / seconds / 1e9,
    seconds,
    bytes: received,
    cpuMsPerMB: (cpu.user + cpu.system) / 1000 / mb,
    sysMsPerMB: cpu.system / 1000 / mb,
  };
}

/** Two netstacks that reach each other: a client, and a server at serverIp. */
interface StackPair {
  client: NetStack;
  server: NetStack;
  serverIp: number;
  close(): void;
}

/** The reference: two netstacks joined by an in-memory link, frames handed over on the next turn of the event loop. */
function netstackPair(): StackPair {
  const l = linkedStacks({ name: 'ref', subnet: 0x0a900000, mtu: STREAM_MTU });
  return { client: l.a, server: l.b, serverIp: l.addrB, close: () => l.close() };
}

const PING_ROUNDS = 20_000;
const PING_WARMUP_ROUNDS = 10_000;

interface PingPongFigure {
  rounds: number;
  rttP50Us: number;
  rttP99Us: number;
  /** User + system CPU of this process per round trip (two 1-byte segments and their ACKs, if any). */
  cpuUsPerRound: number;
  sysUsPerRound: number;
}

/**
 * A 1-byte TCP ping-pong with TCP_NODELAY on both ends: `client` writes one byte, the server echoes
 * it, the client sends the next when the echo arrives. After PING_WARMUP_ROUNDS, PING_ROUNDS are
 * timed one by one and their CPU summed.
 */
export async function pingPong(client: NetStack, server: NetStack, serverIp: number, port: number): Promise<PingPongFigure> {
  const listener = server.tcpSocket(4);
  if (listener.bind(0, port) < 0 || listener.listen(8) < 0) throw new Error(`overlay bench: cannot listen on port ${port}`);
  let accepted: ReturnType<NetStack['tcpSocket']> | null = null;
  listener.handlers = {
    onAcceptable: () => {
      const s = listener.accept();
      if (!s) return;
      accepted = s;
      s.setOption('NODELAY', 1);
      s.handlers = {
        onReadable: () => {
          const r = s.read(64);
          if (typeof r !== 'number') s.write(r);
        },
      };
    },
  };
  const c = client.tcpSocket(4);
  c.setOption('NODELAY', 1);
  const total = PING_WARMUP_ROUNDS + PING_ROUNDS;
  const rtts = new Float64Array(PING_ROUNDS);
  const one = Buffer.from('p');
  let round = 0;
  let sentAt = 0;
  let cpu0 = process.cpuUsage();
  const finished = new Promise<void>((resolve, reject) => {
    c.handlers = {
      onConnect: () => {
        sentAt = performance.now();
        c.write(one);
      },
      onReadable: () => {
        const r = c.read(64);
        if (typeof r === 'number') {
          if (r !== -Errno.EAGAIN) reject(new Error(`overlay bench: ping-pong read failed with ${r} after ${round} rounds`));
          return;
        }
        const now = performance.now();
        if (round >= PING_WARMUP_ROUNDS) rtts[round - PING_WARMUP_ROUNDS] = now - sentAt;
        if (++round === PING_WARMUP_ROUNDS) cpu0 = process.cpuUsage();
        if (round >= total) return resolve();
        sentAt = performance.now();
        c.write(one);
      },
      onError: (errno) => {
        reject(new Error(`overlay bench: ping-pong failed with errno ${errno} after ${round} rounds`));
      },
    };
  });
  c.connect(serverIp, port);
  const timeout = setTimeout(() => c.abort(), STREAM_TIMEOUT_MS);
  try {
    await finished;
  } finally {
    clearTimeout(timeout);
    c.close();
    (accepted as ReturnType<NetStack['tcpSocket']> | null)?.close();
    listener.close();
  }
  const cpu = process.cpuUsage(cpu0);
  rtts.sort();
  return {
    rounds: PING_ROUNDS,
    rttP50Us: rtts[PING_ROUNDS >> 1]! * 1000,
    rttP99Us: rtts[Math.floor(PING_ROUNDS * 0.99)]! * 1000,
    cpuUsPerRound: (cpu.user + cpu.system) / PING_ROUNDS,
    sysUsPerRound: cpu.system / PING_ROUNDS,
  };
}

interface OverlayMembers extends StackPair {
  /** The cipher member A uses towards member B. */
  cipher(): number;
  /** Packets the root has relayed so far (0 growth when the members talk directly). */
  relayed(): number;
  /** Counters of both members, their networks, stacks and UDP sockets, for OVERLAY_BENCH_DEBUG. */
  debug(): unknown;
}

/**
 * Root (also controller of a private network) and two authorized members over real UDP on
 * 127.0.0.1, joined, configured, with ARP resolved and a direct path between the members.
 */
export async function overlayMembers(): Promise<OverlayMembers> {
  const dir = mkdtempSync(join(tmpdir(), 'ztnc-bench-overlay-'));
  const sched = new RealScheduler();
  const logger = pino({ level: 'silent' });
  const nodes: AssembledNode[] = [];
  const transports: NativeUdpTransport[] = [];
  let controller: NetworkController | null = null;
  const close = async (): Promise<void> => {
    for (const n of nodes) n.stop();
    await controller?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [rootId, aId, bId] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()]);
    const open = async (): Promise<NativeUdpTransport> => {
      const t = await NativeUdpTransport.open({ port: 0, bind: ['127.0.0.1'], allowDestination: loopbackOnly, logger });
      transports.push(t);
      return t;
    };
    const rootTransport = await open();
    const world = createPrivatePlanet({
      id: 0x0be4c4n,
      timestamp: BigInt(Date.now()),
      roots: [{ address: rootId!.address, publicKey: rootId!.publicKey, stableEndpoints: rootTransport.localEndpoints() }],
    });
    if (!world.ok) throw new Error(world.error);
    const planet = planetFromWorld(world.value.world);
    const mkNode = (identity: Identity, transport: NativeUdpTransport, networks?: NetworksOptions): AssembledNode => {
      const n = assembleNode({
        identity,
        transport,
        scheduler: sched,
        planet,
        allowLoopbackPaths: true,
        refuseBuiltinPlanet: true,
        logger,
        networks,
      });
      nodes.push(n);
      return n;
    };
    const nwid = `${rootId!.addressHex}000001`;
    controller = new NetworkController({
      dbFile: join(dir, 'controller.db'),
      nodeAddress: rootId!.addressHex,
      logger,
      backupIntervalMs: 0,
    });
    controller.store.putNetwork(nwid, () => ({
      ...defaultNetworkSettings(nwid, Date.now()),
      name: 'bench',
      // private, as most networks are: frames are admitted on certificates of membership
      private: true,
      mtu: STREAM_MTU,
      v4AssignMode: { zt: true },
      routes: [{ target: '10.145.0.0/16', via: null }],
      ipAssignmentPools: [{ ipRangeStart: '10.145.0.10', ipRangeEnd: '10.145.0.250' }],
    }));
    for (const id of [aId!, bId!]) controller.store.updateMember(nwid, id.addressHex, (m) => void (m.authorized = true));
    const { node: root } = mkNode(rootId!, rootTransport, { controller: controller.backend });
    const { node: a, networks: netsA } = mkNode(aId!, await open());
    const { node: b, networks: netsB } = mkNode(bId!, await open());
    const na = netsA.join(BigInt(`0x${nwid}`));
    const nb = netsB.join(BigInt(`0x${nwid}`));
    await waitFor(() => na.status === 'OK' && nb.status === 'OK' && !!na.stack && !!nb.stack, 30_000, 'network configs');
    const ipB = nb.stack!.addresses()[0]!.addr;
    // a first ping resolves ARP and sets up the direct path between the members
    let pinged = false;
    for (let i = 0; i < 20 && !pinged; i++) {
      let res: { ok: boolean } | null = null;
      na.stack!.ping(ipB, { timeoutMs: 1_000 }, (r) => {
        res = r;
      });
      await waitFor(() => res !== null, 2_000, 'ping');
      pinged = (res as { ok: boolean } | null)?.ok === true;
    }
    if (!pinged) throw new Error('overlay bench: members cannot ping each other');
    await waitFor(() => !!a.peer(b.address)?.paths.best(sched.now()), 10_000, 'a direct path');
    return {
      client: na.stack!,
      server: nb.stack!,
      serverIp: ipB as number,
      close: () => void close(),
      cipher: () => a.peer(b.address)!.cipher(),
      relayed: () => root.counters.get('relayed'),
      debug: () => ({
        a: a.counters.snapshot(),
        b: b.counters.snapshot(),
        netA: na.counters.snapshot(),
        netB: nb.counters.snapshot(),
        tcpA: na.stack!.counters().tcp,
        tcpB: nb.stack!.counters().tcp,
        udp: transports.map((t) => t.stats),
      }),
    };
  } catch (e) {
    await close();
    throw e;
  }
}

interface NodeToNode {
  stream: StreamFigure & { cipher: number; relayed: number };
  pingPong: PingPongFigure;
}

/**
 * The ping-pong, then the bulk stream, between two overlay members (the ping-pong first: after
 * the stream its figure swings with what the stream left to collect).
 */
export async function nodeToNode(): Promise<NodeToNode> {
  const m = await overlayMembers();
  try {
    const ping = await pingPong(m.client, m.server, m.serverIp, 5203);
    const relayed0 = m.relayed();
    const fig = await stream(m.client, m.server, m.serverIp, 5202);
    const relayed = m.relayed() - relayed0;
    if (process.env.OVERLAY_BENCH_DEBUG === '1') process.stderr.write(`${JSON.stringify(m.debug(), null, 1)}\n`);
    return { stream: { ...fig, cipher: m.cipher(), relayed }, pingPong: ping };
  } finally {
    m.close();
  }
}

/** The same two measures, in the same order, between two netstacks on the in-memory link. */
export async function netstackOnly(): Promise<{ stream: StreamFigure; pingPong: PingPongFigure }> {
  const p = netstackPair();
  try {
    const ping = await pingPong(p.client, p.server, p.serverIp, 5203);
    const fig = await stream(p.client, p.server, p.serverIp, 5201);
    return { stream: fig, pingPong: ping };
  } finally {
    p.close();
  }
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const c1 = armorCase(1, '(TypeScript)');
  setNativeArmor(false);
  const c3js = armorCase(3, '(node:crypto)');
  const hasNative = setNativeArmor(true);
  const c3native = hasNative ? armorCase(3, '(native binding)') : null;
  const c3 = c3native ?? c3js;
  const ref = gcmReference();
  const rows = [c1, c3js, ...(c3native ? [c3native] : []), ref];
  const out = json ? process.stderr : process.stdout;
  out.write(`overlay: ${PACKET_BYTES}-byte packets, one core\n`);
  for (const r of rows)
    out.write(`  ${r.name.padEnd(46)} ${r.gbps.toFixed(2).padStart(6)} Gbit/s  ${r.usPerPacket.toFixed(2).padStart(6)} µs/packet\n`);
  const overlayAll = await nodeToNode();
  const directAll = await netstackOnly();
  const overlay = overlayAll.stream;
  const direct = directAll.stream;
  const mb = (STREAM_BYTES / (1024 * 1024)).toFixed(0);
  out.write(`overlay: one ${mb} MiB TCP stream, MTU ${STREAM_MTU}, one process\n`);
  out.write(
    `  ${`node to node over UDP loopback (cipher ${overlay.cipher})`.padEnd(46)} ${overlay.gbps.toFixed(3).padStart(7)} Gbit/s  ${overlay.cpuMsPerMB.toFixed(2)} ms CPU/MB (${overlay.sysMsPerMB.toFixed(2)} in the kernel)  (${overlay.relayed} packets relayed)\n`,
  );
  out.write(
    `  ${'netstack only, in-memory link (reference)'.padEnd(46)} ${direct.gbps.toFixed(3).padStart(7)} Gbit/s  ${direct.cpuMsPerMB.toFixed(2)} ms CPU/MB (${direct.sysMsPerMB.toFixed(2)} in the kernel)\n`,
  );
  out.write(`  ratio ${(overlay.gbps / direct.gbps).toFixed(3)}\n`);
  const po = overlayAll.pingPong;
  const pd = directAll.pingPong;
  out.write(`overlay: 1-byte TCP ping-pong (NODELAY), ${po.rounds} rounds, one process\n`);
  for (const [label, p] of [
    ['node to node over UDP loopback', po],
    ['netstack only, in-memory link (reference)', pd],
  ] as const)
    out.write(
      `  ${label.padEnd(46)} p50 ${p.rttP50Us.toFixed(1).padStart(6)} µs  p99 ${p.rttP99Us.toFixed(1).padStart(6)} µs  ${p.cpuUsPerRound.toFixed(1)} µs CPU/round (${p.sysUsPerRound.toFixed(1)} in the kernel)\n`,
    );
  if (json) {
    const round = (x: number): number => Math.round(x * 1000) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        bench: 'overlay',
        packet_bytes: PACKET_BYTES,
        armor_cipher1_gbps: round(c1.gbps),
        armor_cipher3_gbps: round(c3.gbps),
        armor_cipher3_native: c3native !== null,
        armor_cipher3_nodecrypto_gbps: round(c3js.gbps),
        armor_cipher3_native_gbps: c3native ? round(c3native.gbps) : null,
        armor_cipher1_us_per_packet: round(c1.usPerPacket),
        armor_cipher3_us_per_packet: round(c3.usPerPacket),
        ref_aes_gcm_gbps: round(ref.gbps),
        armor_cipher3_ratio: round(c3.gbps / ref.gbps),
        stream_bytes: STREAM_BYTES,
        stream_mtu: STREAM_MTU,
        node_to_node_gbps: round(overlay.gbps),
        node_to_node_cipher: overlay.cipher,
        node_to_node_cpu_ms_per_mb: round(overlay.cpuMsPerMB),
        node_to_node_sys_ms_per_mb: round(overlay.sysMsPerMB),
        node_to_node_relayed_packets: overlay.relayed,
        ref_netstack_only_gbps: round(direct.gbps),
        ref_netstack_only_cpu_ms_per_mb: round(direct.cpuMsPerMB),
        node_to_node_ratio: round(overlay.gbps / direct.gbps),
        ping_rounds: po.rounds,
        node_to_node_ping_rtt_p50_us: round(po.rttP50Us),
        node_to_node_ping_rtt_p99_us: round(po.rttP99Us),
        node_to_node_ping_cpu_us_per_round: round(po.cpuUsPerRound),
        node_to_node_ping_sys_us_per_round: round(po.sysUsPerRound),
        ref_netstack_only_ping_rtt_p50_us: round(pd.rttP50Us),
        ref_netstack_only_ping_rtt_p99_us: round(pd.rttP99Us),
        ref_netstack_only_ping_cpu_us_per_round: round(pd.cpuUsPerRound),
      })}\n`,
    );
  }
}
