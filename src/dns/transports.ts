/**
 * The two ways a forwarded query leaves the daemon: over the virtual network (a UDP socket of the
 * network's own stack, so the query comes from the member's address and nothing touches the
 * host's network), or, only where local.conf allows it, the daemon's own kernel UDP socket to the
 * host's resolvers. Each exchange is one socket on a fresh ephemeral port.
 */
import dgram from 'node:dgram';
import { IPV6_ANY, ipv6FromBytes, ipv6ToBytes, type UdpSocket } from '../netstack/index.js';
import { DNS_PORT, type DnsExchange, type DnsTransport } from './forwarder.js';
import { type NameAddress, parseAddressText } from './names.js';

function v4Number(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function v4Bytes(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Queries over the network's stack, to IPv4 or IPv6 servers (a socket of the server's family). */
export function stackTransport(stack: { udpSocket(family?: 4 | 6): UdpSocket }): DnsTransport {
  return {
    open(server: NameAddress, onDatagram: (data: Buffer, from: NameAddress, port: number) => void): DnsExchange | null {
      const six = server.family === 6;
      const s = stack.udpSocket(six ? 6 : 4);
      const to = six ? ipv6FromBytes(server.bytes) : v4Number(server.bytes);
      // connected: a server the stack has no route to (an IPv6 one before the network gives the
      // member an IPv6 address) is no exchange at all, and only the server's datagrams come in
      if (s.bind(six ? IPV6_ANY : 0, 0) < 0 || s.connect(to, DNS_PORT) < 0) {
        s.close();
        return null;
      }
      let open = true;
      s.handlers.onReadable = () => {
        while (open) {
          const d = s.recv();
          if (d === null) return;
          const from: NameAddress =
            typeof d.from.addr === 'string' ? { family: 6, bytes: ipv6ToBytes(d.from.addr) } : { family: 4, bytes: v4Bytes(d.from.addr) };
          onDatagram(d.data, from, d.from.port);
        }
      };
      return {
        send: (query) => open && s.sendTo(query) >= 0,
        close: () => {
          if (!open) return;
          open = false;
          s.close();
        },
      };
    },
  };
}

/** Queries through the daemon's own kernel sockets (to the host's resolvers). */
export function kernelTransport(): DnsTransport {
  return {
    open(server: NameAddress, onDatagram: (data: Buffer, from: NameAddress, port: number) => void): DnsExchange | null {
      const text = server.family === 4 ? Array.from(server.bytes).join('.') : formatV6(server.bytes);
      let s: dgram.Socket;
      try {
        s = dgram.createSocket(server.family === 4 ? 'udp4' : 'udp6');
      } catch {
        return null;
      }
      let open = true;
      s.on('error', () => {});
      s.on('message', (msg, rinfo) => {
        const from = parseAddressText(rinfo.address.replace(/%.*$/, ''));
        if (from && open) onDatagram(msg, from, rinfo.port);
      });
      s.unref();
      return {
        send: (query) => {
          if (!open) return false;
          s.send(query, DNS_PORT, text, () => {});
          return true;
        },
        close: () => {
          if (!open) return;
          open = false;
          try {
            s.close();
          } catch {
            // never bound
          }
        },
      };
    },
  };
}

function formatV6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':');
}
