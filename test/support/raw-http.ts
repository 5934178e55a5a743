/**
 * One HTTP request written byte for byte on a TCP socket, for clients that do what `fetch` will
 * not: stock zerotier-cli's HTTP/1.1 without a Host header, for one. Answers the status code and
 * the whole response text (the request should ask for `Connection: close`).
 */
import { connect } from 'node:net';

export interface RawHttpAnswer {
  status: number;
  /** Status line, headers and body as received. */
  text: string;
  /** What follows the blank line after the headers. */
  body: string;
}

export function rawHttp(host: string, port: number, request: string, timeoutMs = 20_000): Promise<RawHttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port }, () => s.write(request));
    s.setTimeout(timeoutMs, () => s.destroy(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 80))}`));
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(m[1]), text, body: split >= 0 ? text.slice(split + 4) : '' });
    });
  });
}
