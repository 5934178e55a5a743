/**
 * The reverse proxy's pure parts: route and proxy specs (proxy-spec.ts), which members a request
 * goes to under a config's names (proxy-members.ts), the upstream file's text
 * (proxy-upstream-file.ts) and `proxy add`'s switches (proxy-commands.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { proxyAddBody } from '../../src/cli/proxy-commands.js';
import { directoryOf, hostOfHeader, selectUpstreams, upstreamGroups } from '../../src/gateway/proxy-members.js';
import { keyNames, parseRouteWords, proxySpecFromJson, ProxySpecError, type ProxySpec } from '../../src/gateway/proxy-spec.js';
import { renderUpstreamFile, UpstreamFileWriter } from '../../src/gateway/proxy-upstream-file.js';
import { parseIpv4 } from '../../src/netstack/index.js';
import { defaultNetworkConfig } from '../../src/node/network/network-config.js';
import type { NetworkConfig } from '../../src/node/index.js';

function config(domain: string, names: Record<string, string[]>): NetworkConfig {
  return {
    ...defaultNetworkConfig(1n, 2n),
    dns: { domain, servers: [] },
    names: Object.entries(names).map(([name, ips]) => ({ name, addrs: ips.map((ip) => ({ family: 4 as const, ip, port: 0 })) })),
  };
}

const spec = (routes: string[][], namesPort: number | null = null): Pick<ProxySpec, 'routes' | 'namesPort'> => ({
  routes: routes.map(([h, m]) => parseRouteWords(h!, m!)),
  namesPort,
});

const ip = (t: string): number => parseIpv4(t)!;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('proxy routes', () => {
  const cfg = config('px.ztnc', { alpha: ['10.1.0.10'], beta: ['10.1.0.11'], 'web-1': ['10.1.0.21'], 'web-2': ['10.1.0.22'] });
  const dir = directoryOf(cfg);

  it('parses routes and refuses bad ones, naming the field', () => {
    expect(parseRouteWords('WWW.Example.com/api/', 'Alpha:80')).toEqual({
      host: 'www.example.com',
      pathPrefix: '/api',
      member: 'alpha',
      port: 80,
    });
    expect(parseRouteWords('*', 'web-*:8080')).toEqual({ host: '*', pathPrefix: '/', member: 'web-*', port: 8080 });
    expect(() => parseRouteWords('a..b', 'x:1')).toThrow(/host: "a..b"/);
    expect(() => parseRouteWords('x.test', 'a*b*:1')).toThrow(/member: /);
    expect(() => parseRouteWords('x.test', '10.0.0.1:1')).toThrow(/member: /);
    expect(() => parseRouteWords('x.test', 'a:0')).toThrow(/member port: 0/);
    expect(() => parseRouteWords('x.test/a b', 'a:1')).toThrow(/path prefix/);
  });

  it('routes by exact host, wildcard and path prefix, the most specific first', () => {
    const s = spec([
      ['*', 'beta:1'],
      ['*.apps.test', '*:2'],
      ['www.test', 'alpha:3'],
      ['www.test/api', 'beta:4'],
      ['lb.test', 'web-*:5'],
    ]);
    const to = (host: string, path = '/') => {
      const m = selectUpstreams(s, dir, host, path);
      return m.kind === 'route' ? m.upstreams.map((u) => `${u.member}:${u.port}`).join(',') : m.kind;
    };
    expect(to('www.test')).toBe('alpha:3');
    expect(to('www.test', '/api')).toBe('beta:4');
    expect(to('www.test', '/api/x')).toBe('beta:4');
    expect(to('www.test', '/apix')).toBe('alpha:3');
    expect(to('alpha.apps.test')).toBe('alpha:2');
    expect(to('nobody.apps.test')).toBe('no-member');
    expect(to('lb.test')).toBe('web-1:5,web-2:5');
    expect(to('anything.else')).toBe('beta:1');
  });

  it('the default rule sends <name>.<domain> to member <name>; anything else is no route', () => {
    const s = spec([], 8080);
    expect(selectUpstreams(s, dir, 'alpha.px.ztnc', '/')).toEqual({
      kind: 'route',
      route: '*.px.ztnc',
      upstreams: [{ member: 'alpha', addr: ip('10.1.0.10'), port: 8080 }],
    });
    expect(selectUpstreams(s, dir, 'gamma.px.ztnc', '/').kind).toBe('no-member');
    expect(selectUpstreams(s, dir, 'a.b.px.ztnc', '/').kind).toBe('no-route');
    expect(selectUpstreams(s, dir, 'alpha.other', '/').kind).toBe('no-route');
    // a full member name works in routes too
    expect(selectUpstreams(spec([['x.test', 'beta.px.ztnc:1']]), dir, 'x.test', '/').kind).toBe('route');
  });

  it('follows the config: a new config object is a new directory (join, de-authorization, address change)', () => {
    const s = spec([], 80);
    const next = config('px.ztnc', { alpha: ['10.1.0.99'], gamma: ['10.1.0.12'] });
    expect(directoryOf(cfg)).toBe(dir); // built once per config
    const d2 = directoryOf(next);
    expect(selectUpstreams(s, d2, 'beta.px.ztnc', '/').kind).toBe('no-member');
    expect(selectUpstreams(s, d2, 'gamma.px.ztnc', '/').kind).toBe('route');
    const a = selectUpstreams(s, d2, 'alpha.px.ztnc', '/');
    expect(a.kind === 'route' && a.upstreams[0]!.addr).toBe(ip('10.1.0.99'));
    expect(directoryOf(null).labels.size).toBe(0);
  });

  it('reads Host headers strictly', () => {
    expect(hostOfHeader('Alpha.PX.ztnc:8080')).toBe('alpha.px.ztnc');
    expect(hostOfHeader('alpha.px.ztnc.')).toBe('alpha.px.ztnc');
    expect(hostOfHeader('[::1]:80')).toBe('::1');
    expect(hostOfHeader('bad host')).toBeNull();
    expect(hostOfHeader('')).toBeNull();
    expect(hostOfHeader(undefined)).toBeNull();
    expect(hostOfHeader('a'.repeat(300))).toBeNull();
  });
});

describe('proxy specs', () => {
  it('takes one of listen and upstreamFile, and checks every field', () => {
    const s = proxySpecFromJson({ listen: { hostPort: 8080 }, namesPort: 80, health: { kind: 'http', path: '/health' } });
    expect(s.listen).toEqual({ hostAddr: '0.0.0.0', hostPort: 8080 });
    expect(s.health).toEqual({ kind: 'http', path: '/health', intervalMs: 5000 });
    expect(keyNames(s, '8080')).toBe(true);
    expect(keyNames(s, '0.0.0.0:8080')).toBe(true);
    expect(keyNames(s, '127.0.0.1:8080')).toBe(false);
    const bad = (body: unknown) => () => proxySpecFromJson(body);
    expect(bad({})).toThrow(/either listens .* or writes an upstream file/);
    expect(bad({ listen: { hostPort: 1 }, upstreamFile: { path: '/x' } })).toThrow(ProxySpecError);
    expect(bad({ upstreamFile: { path: 'relative' } })).toThrow(/upstreamFile.path: .* absolute/);
    expect(bad({ upstreamFile: { path: '/x', reloadPid: 1 } })).toThrow(/reloadPid/);
    expect(bad({ upstreamFile: { path: '/x', reloadPid: 100, reloadCmd: ['x'] } })).toThrow(/exclude each other/);
    expect(bad({ upstreamFile: { path: '/x', format: 'caddy' } })).toThrow(/format/);
    expect(bad({ upstreamFile: { path: '/x' }, tls: { cert: '/c', key: '/k' } })).toThrow(/only a listening proxy/);
    expect(bad({ listen: { hostPort: 70000 } })).toThrow(/listen: host port/);
    expect(bad({ listen: { hostPort: 1 }, health: { kind: 'tcp', intervalMs: 1 } })).toThrow(/health.intervalMs/);
    expect(bad({ listen: { hostPort: 1 }, routes: 'x' })).toThrow(/routes: must be a list/);
    expect(bad([])).toThrow(/the body/);
  });

  it("proxy add's switches become the API body", () => {
    expect(
      proxyAddBody(['127.0.0.1:8443'], { tlsCert: 'c.pem', tlsKey: '/k.pem', names: '80', health: 'http:/h', healthInterval: '0.5' }),
    ).toEqual({
      listen: { hostAddr: '127.0.0.1', hostPort: 8443 },
      tls: { cert: join(process.cwd(), 'c.pem'), key: '/k.pem' },
      namesPort: 80,
      health: { kind: 'http', path: '/h', intervalMs: 500 },
    });
    expect(proxyAddBody([], { upstreamFile: '/u.conf', reloadCmd: 'nginx  -s reload' })).toEqual({
      upstreamFile: { path: '/u.conf', format: 'nginx', reloadCmd: ['nginx', '-s', 'reload'] },
    });
    expect(() => proxyAddBody(['80'], { format: 'nginx' })).toThrow(/go with --upstream-file/);
    expect(() => proxyAddBody(['80'], { health: 'tcp:/x' })).toThrow(/--health/);
    expect(() => proxyAddBody(['80'], { names: 'x' })).toThrow(/--names/);
  });
});

describe('upstream file', () => {
  const cfg = config('px.ztnc', { alpha: ['10.1.0.10'], 'web-1': ['10.1.0.21'], 'web-2': ['10.1.0.22'] });
  const groups = upstreamGroups(
    spec(
      [
        ['lb.test', 'web-*:8080'],
        ['nobody.test', 'nobody:1'],
      ],
      80,
    ),
    directoryOf(cfg),
  );

  it('nginx: one upstream per group, a down placeholder for an empty one', () => {
    const text = renderUpstreamFile('nginx', 'abcdef0123456789', groups);
    expect(text).toContain('upstream web-all {\n    server 10.1.0.21:8080; # web-1\n    server 10.1.0.22:8080; # web-2\n}');
    expect(text).toContain('upstream alpha {\n    server 10.1.0.10:80; # alpha\n}');
    expect(text).toContain('upstream nobody {\n    server 127.0.0.1:9 down; # no member now\n}');
  });

  it('haproxy: one backend per group', () => {
    const text = renderUpstreamFile('haproxy', 'abcdef0123456789', groups);
    expect(text).toContain('backend web-all\n    server web-1-1 10.1.0.21:8080\n    server web-2-2 10.1.0.22:8080\n');
  });

  it('writes only when the text changes, and reports a pid it cannot signal', () => {
    const d = mkdtempSync(join(tmpdir(), 'ztnc-upstream-'));
    dirs.push(d);
    const problems: string[] = [];
    const w = new UpstreamFileWriter({ path: join(d, 'u.conf'), format: 'nginx', reloadPid: 2 ** 22 + 1, reloadCmd: null }, (m) =>
      problems.push(m),
    );
    expect(w.update('a\n')).toBe(true);
    expect(w.update('a\n')).toBe(false);
    expect(readFileSync(join(d, 'u.conf'), 'utf8')).toBe('a\n');
    expect(w.stats).toMatchObject({ writes: 1, reloads: 0, reloadErrors: 1 });
    expect(problems[0]).toMatch(/cannot signal pid/);
    const bad = new UpstreamFileWriter({ path: join(d, 'no', 'such', 'dir'), format: 'nginx', reloadPid: null, reloadCmd: null }, (m) =>
      problems.push(m),
    );
    expect(bad.update('x')).toBe(false);
    expect(bad.stats.lastError).toMatch(/cannot write/);
  });
});

describe.runIf(requireOrSkip(needPrograms('nginx', 'haproxy'), 'upstream files the servers load'))(
  'upstream files the servers load',
  () => {
    const cfg = config('px.ztnc', { alpha: ['10.1.0.10'], 'web-1': ['10.1.0.21'] });
    const groups = upstreamGroups(
      spec(
        [
          ['lb.test', 'web-*:8080'],
          ['nobody.test', 'nobody:1'],
        ],
        80,
      ),
      directoryOf(cfg),
    );

    it('nginx -t and haproxy -c accept them', () => {
      const d = mkdtempSync(join(tmpdir(), 'ztnc-upstream-'));
      dirs.push(d);
      writeFileSync(join(d, 'up.conf'), renderUpstreamFile('nginx', 'abcdef0123456789', groups));
      writeFileSync(
        join(d, 'nginx.conf'),
        `pid ${d}/nginx.pid;\nerror_log ${d}/error.log;\nevents {}\nhttp { access_log off; client_body_temp_path ${d}/b; proxy_temp_path ${d}/p; fastcgi_temp_path ${d}/f; uwsgi_temp_path ${d}/u; scgi_temp_path ${d}/s;\n  include ${d}/up.conf;\n  server { listen 127.0.0.1:1; location / { proxy_pass http://web-all; } }\n}\n`,
      );
      execFileSync('nginx', ['-t', '-q', '-p', d, '-c', join(d, 'nginx.conf'), '-e', join(d, 'error.log')], { stdio: 'pipe' });
      writeFileSync(
        join(d, 'haproxy.cfg'),
        `defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:1\n    default_backend web-all\n${renderUpstreamFile('haproxy', 'abcdef0123456789', groups)}`,
      );
      execFileSync('haproxy', ['-c', '-q', '-f', join(d, 'haproxy.cfg')], { stdio: 'pipe' });
    });
  },
);
