/**
 * The name operations over the netcon RPC (RESOLVE, REVERSE, DNS_QUERY on inode 0), spoken from
 * TypeScript as the library speaks them, against a server whose NameService is the real resolver
 * with a network zone, and against servers with a stand-in service or none.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildQuery,
  DnsType,
  parseDnsMessage,
  Rcode,
  Resolver,
  stackTransport,
  type NameService,
  type ResolverConfig,
} from '../../src/dns/index.js';
import { AF_INET, AF_INET6, AF_UNSPEC, MAX_RESPONSE_PAYLOAD, Op } from '../../src/netcon/protocol.js';
import { NetconServer } from '../../src/netcon/server.js';
import { CryptoRandom, RealScheduler } from '../../src/netstack/index.js';
import { createNetStack, type NetStack } from '../../src/netstack/index.js';
import { RpcClient } from './rpc-client.js';
import { tempDir } from './harness.js';

const silent = pino({ level: 'silent' });
const ENOENT = 2;
const EAGAIN = 11;
const EINVAL = 22;
const ENODATA = 61;

function resolvePayload(family: number, name: string): Buffer {
  return Buffer.concat([Buffer.of(family), Buffer.from(name, 'latin1')]);
}

function decodeResolve(payload: Buffer, count: number): { canonical: string; addrs: string[] } {
  const n = payload[0]!;
  const canonical = payload.subarray(1, 1 + n).toString('latin1');
  const addrs: string[] = [];
  for (let i = 0, off = 1 + n; i < count; i++, off += 17) {
    const f = payload[off]!;
    const b = payload.subarray(off + 1, off + 17);
    addrs.push(f === AF_INET ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : `v6:${b.toString('hex')}`);
  }
  expect(payload.length).toBe(1 + n + count * 17);
  return { canonical, addrs };
}

describe('netcon name operations', () => {
  const tmp = tempDir('ztnc-names-');
  let stack: NetStack;
  const servers: NetconServer[] = [];
  const clients: RpcClient[] = [];
  const config: ResolverConfig = {
    domain: 'checks.ztnc',
    servers: [],
    names: [
      { name: 'alpha', addrs: [{ family: 4, bytes: Uint8Array.of(10, 147, 17, 5) }] },
      { name: 'six', addrs: [{ family: 6, bytes: new Uint8Array(16).fill(0xfd) }] },
      ...Array.from({ length: 40 }, (_, i) => ({ name: 'many', addrs: [{ family: 4 as const, bytes: Uint8Array.of(10, 147, 18, i) }] })),
    ],
    serial: 1,
  };

  async function serve(name: string, names?: NameService): Promise<RpcClient> {
    const path = join(tmp.dir, 'rpc', `${name}.sock`);
    const s = new NetconServer(stack, path, silent, names ? { names } : {});
    await s.start();
    servers.push(s);
    const c = await RpcClient.connect(path);
    clients.push(c);
    return c;
  }

  let rpc: RpcClient;

  beforeAll(async () => {
    stack = createNetStack({ scheduler: new RealScheduler(), mac: Buffer.from([2, 0x5a, 0x54, 0, 0, 7]), name: 'names' });
    stack.addAddress(0x0a931105, 24);
    stack.setLinkOutput(() => {});
    const resolver = new Resolver({
      scheduler: new RealScheduler(),
      random: new CryptoRandom(),
      config: () => config,
      network: stackTransport(stack),
    });
    rpc = await serve('zone', resolver);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.close();
    stack.close();
    tmp.remove();
  });

  it("RESOLVE answers a member's name with its addresses, by family, case-insensitively", async () => {
    const r = await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'Alpha.CHECKS.ztnc'));
    expect(r.result).toBe(1);
    expect(decodeResolve(r.payload, r.result)).toEqual({ canonical: 'alpha.checks.ztnc', addrs: ['10.147.17.5'] });
    const six = await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_UNSPEC, 'six.checks.ztnc'));
    expect(six.result).toBe(1);
    expect(decodeResolve(six.payload, 1).addrs).toEqual([`v6:${'fd'.repeat(16)}`]);
  });

  it('RESOLVE: -ENOENT for no such name, -ENODATA for no address of the family, at once', async () => {
    expect((await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'nobody.checks.ztnc'))).result).toBe(-ENOENT);
    expect((await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_INET6, 'alpha.checks.ztnc'))).result).toBe(-ENODATA);
    // no servers and the host not allowed: other names are not found
    expect((await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_UNSPEC, 'example.com'))).result).toBe(-ENOENT);
  });

  it('RESOLVE gives as many addresses as fit the reply frame', async () => {
    const r = await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'many.checks.ztnc'));
    expect(r.result).toBe(Math.min(40, Math.floor((MAX_RESPONSE_PAYLOAD - 1 - 'many.checks.ztnc'.length) / 17)));
    expect(decodeResolve(r.payload, r.result).addrs[0]).toBe('10.147.18.0');
  });

  it('REVERSE names a member address, -ENOENT for others', async () => {
    const r = await rpc.call(Op.REVERSE, 0, Buffer.of(AF_INET, 10, 147, 17, 5));
    expect(r.result).toBe('alpha.checks.ztnc'.length);
    expect(r.payload.toString()).toBe('alpha.checks.ztnc');
    expect((await rpc.call(Op.REVERSE, 0, Buffer.of(AF_INET, 8, 8, 8, 8))).result).toBe(-ENOENT);
  });

  it('DNS_QUERY answers a DNS message; a malformed one gets FORMERR', async () => {
    const r = await rpc.call(Op.DNS_QUERY, 0, buildQuery(0x4242, 'alpha.checks.ztnc', DnsType.A));
    expect(r.result).toBe(r.payload.length);
    const m = parseDnsMessage(r.payload);
    if (typeof m === 'number') throw new Error('bad answer');
    expect(m).toMatchObject({ id: 0x4242, response: true, rcode: Rcode.NOERROR });
    expect(m.answers[0]!.data).toMatchObject({ kind: 'address' });
    const q = buildQuery(7, 'alpha.checks.ztnc', DnsType.A);
    const bad = await rpc.call(Op.DNS_QUERY, 0, q.subarray(0, q.length - 1));
    expect(parseDnsMessage(bad.payload)).toMatchObject({ id: 7, rcode: Rcode.FORMERR });
  });

  it('bad payloads are -EINVAL and the connection stays usable', async () => {
    expect((await rpc.call(Op.RESOLVE, 0, Buffer.of(99, 0x61))).result).toBe(-EINVAL);
    expect((await rpc.call(Op.RESOLVE, 0, Buffer.of(AF_INET))).result).toBe(-EINVAL);
    expect((await rpc.call(Op.REVERSE, 0, Buffer.of(AF_INET, 1, 2))).result).toBe(-EINVAL);
    expect((await rpc.call(Op.DNS_QUERY, 0, Buffer.alloc(0))).result).toBe(-EINVAL);
    expect((await rpc.call(Op.DNS_QUERY, 0, Buffer.alloc(4))).result).toBe(-EINVAL);
    expect((await rpc.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'alpha.checks.ztnc'))).result).toBe(1);
  });

  it('a server without a name service answers -EAGAIN; the service says EAGAIN when upstream is silent', async () => {
    const none = await serve('none');
    expect((await none.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'alpha.checks.ztnc'))).result).toBe(-EAGAIN);
    expect((await none.call(Op.DNS_QUERY, 0, buildQuery(1, 'x', DnsType.A))).result).toBe(-EAGAIN);
    const silentUpstream: NameService = {
      resolve: async () => ({ errno: EAGAIN }),
      reverse: async () => ({ errno: EAGAIN }),
      answer: async () => null,
    };
    const c = await serve('silent', silentUpstream);
    expect((await c.call(Op.RESOLVE, 0, resolvePayload(AF_INET, 'example.com'))).result).toBe(-EAGAIN);
    expect((await c.call(Op.REVERSE, 0, Buffer.of(AF_INET6, ...new Array<number>(16).fill(1)))).result).toBe(-EAGAIN);
  });
});
