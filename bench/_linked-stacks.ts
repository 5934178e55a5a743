/**
 * Two netstacks of this process joined by an in-memory link (each frame copied and handed over on
 * a later turn of the event loop, as a datagram would be), on one real-time scheduler: the
 * benches' stand-in for two daemons when the figure is about the stacks, not the path between them.
 */
import { createNetStack, CryptoRandom, type NetStack, RealScheduler } from '../src/netstack/index.js';

export interface LinkedStacks {
  a: NetStack;
  b: NetStack;
  /** Their IPv4 addresses (a /24 between them). */
  addrA: number;
  addrB: number;
  close(): void;
}

/** Stacks named `<name>1` and `<name>2` at `<subnet>.1` and `<subnet>.2` (subnet as 0x0aXXXX00). */
export function linkedStacks(opts: { name: string; subnet: number; mtu?: number }): LinkedStacks {
  const scheduler = new RealScheduler();
  const random = new CryptoRandom();
  const mk = (last: number): NetStack => {
    const mac = Buffer.from([0x02, 0, 0, (opts.subnet >>> 8) & 0xff, 0, last]);
    const st = createNetStack({ scheduler, random, mac, ...(opts.mtu ? { mtu: opts.mtu } : {}), name: `${opts.name}${last}` });
    st.addAddress(opts.subnet + last, 24);
    return st;
  };
  const a = mk(1);
  const b = mk(2);
  a.setLinkOutput((f) => {
    const copy = Buffer.from(f);
    setImmediate(() => b.input(copy));
  });
  b.setLinkOutput((f) => {
    const copy = Buffer.from(f);
    setImmediate(() => a.input(copy));
  });
  return {
    a,
    b,
    addrA: opts.subnet + 1,
    addrB: opts.subnet + 2,
    close: () => {
      a.close();
      b.close();
    },
  };
}
