/**
 * Exact 64-bit integers in the local API's JSON: the writer and reader (json-text.ts), the
 * /status view of a stock planet, and the API server writing it, as stock does, in bare digits.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../src/service/http/json-text.js';
import { Router } from '../../src/service/http/router.js';
import { ApiServer } from '../../src/service/http/server.js';
import { statusJson } from '../../src/service/json-views.js';
import type { Node } from '../../src/node/index.js';
import { rawHttp } from '../support/raw-http.js';

/** ZeroTier's own 63-bit planet id, which a double rounds to 1706756347787900400. */
const STOCK_PLANET_ID = 1706756347787900461n;

function fakeNode(): Node {
  return {
    hex: '3ce329f872',
    planet: { id: STOCK_PLANET_ID, timestamp: 1567191349589n, roots: [] },
    identity: { toString: () => '3ce329f872:0:00' },
  } as unknown as Node;
}

describe('JSON with exact 64-bit integers', () => {
  it('writes bigints as bare digits and everything else as JSON.stringify does', () => {
    const v = { a: 2n ** 64n - 1n, b: [1, 'x\u0000y', null, -5n], c: { d: 1.5, e: undefined, f: '"\u00000\u0000"' } };
    const text = stringifyJson(v);
    expect(text).toBe('{"a":18446744073709551615,"b":[1,"x\\u0000y",null,-5],"c":{"d":1.5,"f":"\\"\\u00000\\u0000\\""}}');
    expect(stringifyJson({ a: 1n }, 1)).toBe('{\n "a": 1\n}');
    // strings that look like the writer's placeholders stay strings
    expect(stringifyJson(['\u00000\u0000', 7n, '\u00001\u0000'])).toBe('["\\u00000\\u0000",7,"\\u00001\\u0000"]');
    expect(stringifyJson(undefined)).toBe('null');
    expect(stringifyJson({ x: [1, { y: 'z' }] }, 2)).toBe(JSON.stringify({ x: [1, { y: 'z' }] }, null, 2));
  });

  it('reads integers a double cannot hold as bigints and keeps the rest as JSON.parse does', () => {
    const text =
      '{"id": 1706756347787900461, "small": 9007199254740991, "neg": -9223372036854775808, "f": 12345678901234567.5, "e": 1e300, "s": "1234567890123456789", "l": [18446744073709551615, true, null, {"__proto__": 1}]}';
    const v = parseJson(text) as Record<string, unknown>;
    expect(v.id).toBe(STOCK_PLANET_ID);
    expect(v.small).toBe(Number.MAX_SAFE_INTEGER);
    expect(v.neg).toBe(-(2n ** 63n));
    expect(v.f).toBe(Number('12345678901234567.5'));
    expect(v.e).toBe(1e300);
    expect(v.s).toBe('1234567890123456789');
    expect(v.l).toEqual([2n ** 64n - 1n, true, null, JSON.parse('{"__proto__": 1}')]);
    expect(Object.getPrototypeOf((v.l as unknown[])[3])).toBe(Object.prototype);
    expect(stringifyJson(v)).toBe(
      JSON.stringify(JSON.parse(text))
        .replace(/1706756347787900400/, '1706756347787900461')
        .replace('-9223372036854776000', '-9223372036854775808')
        .replace('18446744073709552000', '18446744073709551615'),
    );
    expect(() => parseJson('{"a": 12345678901234567890')).toThrow(SyntaxError);
  });

  it('/status carries a stock planet id and timestamp exactly', () => {
    const st = statusJson({ node: fakeNode(), homeDir: '/h', primaryPort: 9993, bind: [], listeningOn: [], online: true });
    expect(stringifyJson(st)).toContain('"planetWorldId":1706756347787900461,"planetWorldTimestamp":1567191349589,');
  });

  describe('through the API server', () => {
    let server: ApiServer;
    let port = 0;
    beforeAll(async () => {
      const router = new Router();
      router.add('GET', '/status', () => ({
        status: 200,
        body: statusJson({ node: fakeNode(), homeDir: '/h', primaryPort: 9993, bind: [], listeningOn: [], online: true }),
      }));
      router.add('POST', '/echo', (req) => ({ status: 200, body: req.body }));
      server = new ApiServer({ router, authToken: 'secret-token', logger: pino({ level: 'silent' }) });
      port = (await server.listen()).port;
    });
    afterAll(() => server.close());

    it('writes the planet id in bare digits and reads 64-bit integers in bodies exactly', async () => {
      const st = await rawHttp('127.0.0.1', port, 'GET /status HTTP/1.1\r\nX-ZT1-Auth: secret-token\r\nConnection: close\r\n\r\n');
      expect(st.status).toBe(200);
      expect(st.body).toContain('"planetWorldId":1706756347787900461');
      const body = '{"start":18446744073709551615}';
      const echo = await rawHttp(
        '127.0.0.1',
        port,
        `POST /echo HTTP/1.1\r\nX-ZT1-Auth: secret-token\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(echo.body).toBe(body);
    });
  });
});
