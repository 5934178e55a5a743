/**
 * haproxy's health checks under libztintercept.so, the program that showed the difference: it
 * takes a connecting socket's writability for "connected". On the kernel a check of a server
 * nobody answers times out (Layer4 timeout) and one of a refusing port fails with "Connection
 * refused", for plain TCP checks and HTTP checks alike; a socketpair that is writable at once made
 * the TCP check pass ("Layer4 check passed", the dead server UP) and the HTTP check read the
 * refusal as an empty answer ("Layer7 invalid response").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { daemonForSuite, shimEnv, STACK_ADDR, startProgram, waitFor } from './harness.js';

/** An address on the fixture's network that nobody holds, and a port nobody listens on. */
const NOBODY = '10.147.17.99';
const CLOSED_PORT = 1;
const FRONT_PORT = 18080;

function config(): string {
  return `global
  log stderr format raw local0 info
defaults
  mode tcp
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
  timeout check 1s
# haproxy 2.6 before 2.6.16 would open UDP sockets for /etc/resolv.conf's nameservers otherwise.
resolvers default
frontend front
  bind ${STACK_ADDR}:${FRONT_PORT}
  default_backend tcp
backend tcp
  default-server check inter 200 fall 1 rise 1
  server dead ${NOBODY}:80
  server refused ${STACK_ADDR}:${CLOSED_PORT}
  server alive ${STACK_ADDR}:${FRONT_PORT}
backend http
  option httpchk GET /
  default-server check inter 200 fall 1 rise 1
  server dead ${NOBODY}:80
  server refused ${STACK_ADDR}:${CLOSED_PORT}
`;
}

const EXPECTED_DOWN = [
  'Server tcp/dead is DOWN, reason: Layer4 timeout',
  'Server tcp/refused is DOWN, reason: Layer4 connection problem, info: "Connection refused"',
  'Server http/dead is DOWN, reason: Layer4 timeout',
  'Server http/refused is DOWN, reason: Layer4 connection problem, info: "Connection refused"',
];

describe.runIf(requireOrSkip(needPrograms('haproxy'), 'haproxy health checks under the library'))(
  'haproxy health checks see what the kernel shows',
  () => {
    const { tmp, daemon } = daemonForSuite('ztnc-haproxy-');

    it('a server nobody answers times out and a refusing one is refused, for TCP and HTTP checks; neither comes UP', async () => {
      const cfg = join(tmp.dir, 'haproxy.cfg');
      writeFileSync(cfg, config());
      const haproxy = startProgram('haproxy', ['-db', '-f', cfg], shimEnv(daemon().socketPath));
      try {
        await waitFor(
          () => EXPECTED_DOWN.every((line) => haproxy.output().includes(line)),
          30_000,
          `haproxy's DOWN lines:\n${EXPECTED_DOWN.join('\n')}`,
        ).catch((e: Error) => {
          throw new Error(`${e.message}\nhaproxy said:\n${haproxy.output()}`);
        });
      } finally {
        await haproxy.stop();
      }
      const out = haproxy.output();
      expect(out).not.toMatch(/Server \w+\/(dead|refused) is UP/);
      expect(out).not.toContain('Layer7 invalid response');
      expect(out).not.toMatch(/Server tcp\/alive is DOWN/);
    });
  },
);
