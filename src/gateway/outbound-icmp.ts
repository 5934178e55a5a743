/**
 * The host side of a gateway's outbound ICMP echo: unprivileged ping sockets
 * (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, native/binding/src/ping.cc), which Linux allows to
 * the groups in net.ipv4.ping_group_range — no raw socket, no capability, as libslirp and passt
 * do it. One socket per member echo flow (member, echo id, destination): the kernel gives each its
 * own echo id, so the replies on a socket are that flow's and go back to the member under its own
 * id (outbound-gate.ts answers from the destination). Where the host does not permit ping sockets
 * (EACCES), a member's echo requests get no answer and are counted `failed`.
 */
import { closeFd, fdWatcher, pingRecv, pingSend, pingSocket } from '../native/binding.js';

/** A flow's socket: sends echo requests, hears replies. */
export interface PingFlowSocket {
  /** Sends an echo request (8-byte header, then data) to `to`; false when it could not go. */
  send(to: string, message: Buffer): boolean;
  close(): void;
}

/** Opens the ping socket of one flow; `onReply` hears each echo reply's seq and data. A number is -errno. */
export type PingOpener = (onReply: (seq: number, data: Buffer) => void) => PingFlowSocket | number;

const ICMP_ECHO_REPLY = 0;

/** Ping sockets of the host's kernel. */
export const hostPingOpener: PingOpener = (onReply) => {
  let fd: number;
  try {
    fd = pingSocket();
  } catch (e) {
    return -((e as { errno?: number }).errno ?? 1);
  }
  let open = true;
  const watcher = fdWatcher(fd, (readable) => {
    if (!readable || !open) return;
    for (;;) {
      let m: { data: Buffer; from: string } | null;
      try {
        m = pingRecv(fd);
      } catch {
        return; // an ICMP error queued on the socket: the request is simply unanswered
      }
      if (!m) return;
      if (m.data.length >= 8 && m.data[0] === ICMP_ECHO_REPLY) onReply(m.data.readUInt16BE(6), m.data.subarray(8));
    }
  });
  watcher.start(true, false);
  return {
    send: (to, message) => {
      try {
        return (pingSend(fd, to, message) ?? 0) > 0;
      } catch {
        return false;
      }
    },
    close: () => {
      if (!open) return;
      open = false;
      watcher.close();
      closeFd(fd);
    },
  };
};

/** An echo request's message: type 8, code 0, the id (the kernel puts its own) and seq, then data. */
export function echoRequest(id: number, seq: number, data: Buffer): Buffer {
  const m = Buffer.alloc(8 + data.length);
  m[0] = 8;
  m.writeUInt16BE(id, 4);
  m.writeUInt16BE(seq, 6);
  data.copy(m, 8);
  return m;
}
