/**
 * Transparent origin for a gateway member (what IP_TRANSPARENT gives a Linux proxy): the gateway
 * opens a flow into the network from a client's own address and port, which is not one of the
 * stack's addresses, and the packets coming back to that address are accepted. Only the exact
 * flows registered here are let in (protocol, both addresses, both ports), so a member that sends
 * to a forwarded client's address reaches nothing else in this stack; sockets of programs under
 * the library can never register one (netcon has no call that reaches this table).
 */
import type { Ipv4Addr } from './addr.js';

function flowKey(protocol: number, local: Ipv4Addr, localPort: number, remote: Ipv4Addr, remotePort: number): string {
  return `${protocol}/${local}.${localPort}/${remote}.${remotePort}`;
}

export class TransparentFlows {
  private readonly flows = new Set<string>();

  get size(): number {
    return this.flows.size;
  }

  /** Lets packets of this flow in (to our foreign `local`); returns what takes it out again. */
  add(protocol: number, local: Ipv4Addr, localPort: number, remote: Ipv4Addr, remotePort: number): () => void {
    const key = flowKey(protocol, local >>> 0, localPort, remote >>> 0, remotePort);
    this.flows.add(key);
    return () => this.flows.delete(key);
  }

  /** Whether a packet from `src` to the foreign `dst`, transport header at `l4`, belongs to a registered flow. */
  accepts(protocol: number, dst: Ipv4Addr, src: Ipv4Addr, packet: Buffer, l4: number): boolean {
    if (this.flows.size === 0 || packet.length < l4 + 4) return false;
    return this.flows.has(flowKey(protocol, dst, packet.readUInt16BE(l4 + 2), src, packet.readUInt16BE(l4)));
  }
}
