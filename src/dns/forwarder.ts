/**
 * Sends one question to upstream servers and waits for the answer that belongs to it: a random id
 * per question (and a fresh socket, so a random source port, per server), an answer accepted only
 * from the server asked, from port 53, with the same id and the same question (RFC 5452 §9.1);
 * anything else is a counted drop. Retries go round the servers every TRY_MS; after TOTAL_MS the
 * question has no answer (the caller says EAGAIN / SERVFAIL). A SERVFAIL, REFUSED or NOTIMP moves
 * on to the next server at once and is the answer only when no server does better in time.
 */
import type { RandomSource, Scheduler, Timer } from '../netstack/index.js';
import { type DnsMessage, type DnsQuestion, Rcode, canonicalName, parseDnsMessage } from './message.js';
import { type NameAddress, sameAddress } from './names.js';

export const DNS_PORT = 53;
/** One try's wait before asking again (the next server, or the same one when there is one). */
export const TRY_MS = 1000;
/** The whole budget of one question: the netcon contract answers within 5 s. */
export const TOTAL_MS = 5000;

/** One exchange with one server: its own socket, closed when the question is done. */
export interface DnsExchange {
  send(query: Buffer): boolean;
  close(): void;
}

/** Where queries go out: the network's stack, or the host's kernel. */
export interface DnsTransport {
  /** Opens a socket for talking to `server`; datagrams arriving on it go to `onDatagram`. Null: cannot reach it. */
  open(server: NameAddress, onDatagram: (data: Buffer, from: NameAddress, port: number) => void): DnsExchange | null;
}

export interface ForwarderCounters {
  queriesSent: number;
  answersAccepted: number;
  /** Datagrams that were not the answer (wrong source, id or question, unparsable). */
  answersDropped: number;
  timeouts: number;
}

export type ForwardResult = { message: DnsMessage; raw: Buffer } | { timeout: true };

function sameQuestion(a: DnsQuestion, b: DnsQuestion): boolean {
  return a.type === b.type && a.class === b.class && canonicalName(a.name) === canonicalName(b.name);
}

export class Forwarder {
  readonly counters: ForwarderCounters = { queriesSent: 0, answersAccepted: 0, answersDropped: 0, timeouts: 0 };

  constructor(
    private readonly scheduler: Scheduler,
    private readonly random: RandomSource,
  ) {}

  /**
   * Asks `servers` the question of `query` (a whole query message; its id is replaced). Resolves
   * with the first acceptable answer, or a timeout.
   */
  forward(query: Buffer, question: DnsQuestion, servers: readonly NameAddress[], transport: DnsTransport): Promise<ForwardResult> {
    return new Promise<ForwardResult>((resolve) => {
      const id = this.random.u32() & 0xffff;
      const out = Buffer.from(query);
      out.writeUInt16BE(id, 0);
      const exchanges = new Map<number, DnsExchange | null>();
      let done = false;
      let tries = 0;
      let tryTimer: Timer | null = null;
      let fallback: ForwardResult | null = null;
      const finish = (r: ForwardResult): void => {
        if (done) return;
        done = true;
        tryTimer?.cancel();
        deadline.cancel();
        for (const x of exchanges.values()) x?.close();
        resolve(r);
      };
      const onDatagram = (server: NameAddress, data: Buffer, from: NameAddress, port: number): void => {
        if (done) return;
        const m =
          port === DNS_PORT && sameAddress(from, server) && data.length >= 2 && data.readUInt16BE(0) === id ? parseDnsMessage(data) : null;
        if (m === null || typeof m === 'number' || !m.response || m.questions.length !== 1 || !sameQuestion(m.questions[0]!, question)) {
          this.counters.answersDropped++;
          return;
        }
        this.counters.answersAccepted++;
        const r = { message: m, raw: data };
        if (m.rcode === Rcode.SERVFAIL || m.rcode === Rcode.REFUSED || m.rcode === Rcode.NOTIMP) {
          fallback = r;
          if (tries < servers.length) attempt();
          return;
        }
        finish(r);
      };
      const attempt = (): void => {
        if (done) return;
        tryTimer?.cancel();
        const i = tries++ % servers.length;
        const server = servers[i]!;
        let x = exchanges.get(i);
        if (x === undefined) {
          x = transport.open(server, (d, from, port) => onDatagram(server, d, from, port));
          exchanges.set(i, x);
        }
        if (x?.send(out)) this.counters.queriesSent++;
        // no server can be reached at all (say, only IPv6 ones over an IPv4 network): no answer now
        if (exchanges.size === servers.length && [...exchanges.values()].every((e) => e === null))
          return finish(fallback ?? { timeout: true });
        tryTimer = this.scheduler.setTimer(TRY_MS, attempt);
      };
      const deadline = this.scheduler.setTimer(TOTAL_MS, () => {
        if (fallback === null) this.counters.timeouts++;
        finish(fallback ?? { timeout: true });
      });
      if (servers.length === 0) return finish({ timeout: true });
      attempt();
    });
  }
}
