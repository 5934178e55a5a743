/**
 * Speed of the ZeroTier packet codecs on this machine: LZ4 block compress/decompress of a stock
 * config dictionary (beside node:zlib raw deflate/inflate of the same bytes, measured in the same
 * run), the FRAME receive path (header view + FRAME parse) and send path (FRAME emit + header
 * build) for 2800-byte frames (beside a plain Buffer copy of the same size), and fragmentation +
 * reassembly of 2800-byte packets.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { VirtualScheduler } from '../src/netstack/clock.js';
import { FragmentReassembly } from '../src/node/packet/fragment-reassembly.js';
import { lz4Compress, lz4Decompress } from '../src/node/packet/lz4.js';
import { encodeNetworkConfig, defaultNetworkConfig } from '../src/node/network/network-config.js';
import { emitFrame, parseFrame } from '../src/node/wire/frame.js';
import { FragmentView, PacketView, buildPacket, fragmentPacket, isFragment } from '../src/node/wire/packet.js';

function timeIt(minMs: number, body: () => void): { perSec: number } {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    for (let i = 0; i < 256; i++) body();
    n += 256;
    now = performance.now();
  }
  return { perSec: (n * 1000) / (now - start) };
}

function sampleConfig(): Buffer {
  const c = defaultNetworkConfig(0x3ce329f872000001n, 0x67d125dc43n);
  c.name = 'bench-network';
  c.staticIps = [{ family: 4, ip: '10.147.17.93', port: 24 }];
  c.routes = [{ target: { family: 4, ip: '10.147.17.0', port: 24 }, via: null, flags: 0, metric: 0 }];
  return encodeNetworkConfig(c);
}

export async function run({ json }: { json: boolean }): Promise<void> {
  const MS = 700;
  const cfg = sampleConfig();
  const lz = lz4Compress(cfg);
  const z = deflateRawSync(cfg);
  const lzC = timeIt(MS, () => lz4Compress(cfg));
  const lzD = timeIt(MS, () => lz4Decompress(lz, 65536));
  const zC = timeIt(MS, () => deflateRawSync(cfg));
  const zD = timeIt(MS, () => inflateRawSync(z));

  const data = Buffer.alloc(2800 - 14, 0x5a);
  const pkt = buildPacket(
    { packetId: 1n, destination: 0x67d125dc43n, source: 0x1a0bee8b7fn, cipher: 3, verb: 6 },
    emitFrame(0x3ce329f872000001n, 0x0800, data),
  );
  let sink = 0;
  const rx = timeIt(MS, () => {
    const p = PacketView.parse(pkt);
    if (p.ok) {
      const f = parseFrame(p.value.payload);
      if (f.ok) sink += f.value.data.length;
    }
  });
  const tx = timeIt(MS, () => {
    sink += buildPacket(
      { packetId: 2n, destination: 0x67d125dc43n, source: 0x1a0bee8b7fn, cipher: 3, verb: 6 },
      emitFrame(0x3ce329f872000001n, 0x0800, data),
    ).length;
  });
  const copy = timeIt(MS, () => {
    sink += Buffer.from(pkt).length;
  });

  const clock = new VirtualScheduler();
  const reasm = new FragmentReassembly(clock);
  const big = Buffer.from(pkt);
  big[18] = big[18]! | 0x40;
  let id = 0n;
  const frag = timeIt(MS, () => {
    big.writeBigUInt64BE(++id, 0);
    for (const piece of fragmentPacket(big, 1432)!) {
      if (isFragment(piece)) {
        const f = FragmentView.parse(piece);
        if (f.ok) reasm.addFragment(f.value);
      } else {
        const p = PacketView.parse(piece);
        if (p.ok) reasm.addHead(p.value);
      }
    }
  });
  if (sink < 0) process.stdout.write('');

  const mbps = (perSec: number, bytes: number) => (perSec * bytes) / 1e6;
  const gbps = (perSec: number, bytes: number) => (perSec * bytes * 8) / 1e9;
  const rows: [string, string][] = [
    ['config dictionary', `${cfg.length} B (lz4 ${lz.length} B, deflate ${z.length} B)`],
    ['lz4 compress', `${mbps(lzC.perSec, cfg.length).toFixed(0)} MB/s`],
    ['lz4 decompress', `${mbps(lzD.perSec, cfg.length).toFixed(0)} MB/s`],
    ['ref: zlib deflateRaw', `${mbps(zC.perSec, cfg.length).toFixed(0)} MB/s`],
    ['ref: zlib inflateRaw', `${mbps(zD.perSec, cfg.length).toFixed(0)} MB/s`],
    ['FRAME rx parse (2800 B)', `${(rx.perSec / 1e6).toFixed(2)} M/s`],
    ['FRAME tx build (2800 B)', `${gbps(tx.perSec, pkt.length).toFixed(1)} Gbit/s`],
    ['ref: Buffer copy (2800 B)', `${gbps(copy.perSec, pkt.length).toFixed(1)} Gbit/s`],
    ['fragment + reassemble (2800 B)', `${(frag.perSec / 1e3).toFixed(0)} k packets/s`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(32)} ${v}\n`);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        bench: 'codec',
        lz4_compress_mbps: Math.round(mbps(lzC.perSec, cfg.length)),
        lz4_decompress_mbps: Math.round(mbps(lzD.perSec, cfg.length)),
        ref_deflate_mbps: Math.round(mbps(zC.perSec, cfg.length)),
        ref_inflate_mbps: Math.round(mbps(zD.perSec, cfg.length)),
        frame_rx_parse_per_s: Math.round(rx.perSec),
        frame_tx_gbps: Number(gbps(tx.perSec, pkt.length).toFixed(2)),
        ref_copy_gbps: Number(gbps(copy.perSec, pkt.length).toFixed(2)),
        ratio_tx_to_copy: Number((tx.perSec / copy.perSec).toFixed(3)),
        fragment_reassemble_per_s: Math.round(frag.perSec),
      })}\n`,
    );
  }
}
