/**
 * The gateway's reverse proxy end to end (issue 19): a private cluster whose network has the DNS
 * domain px.ztnc; containers alpha and beta run web servers (python, under the intercept library),
 * G is the network's gateway and serves the proxy on the host's loopback. Two names route to two
 * containers; a third member that joins is routed, and a de-authorized one no longer is, as soon as
 * the config push carrying the change is in force at G (seen through G's own resolver, which reads
 * the same config) — no waiting beyond that. Also HTTPS with a self-signed certificate, health
 * checks, 502/404/421 answers, malformed requests, and the upstream-file mode with nginx (run
 * under the library in G) reloaded by SIGHUP. Needs root (network namespaces for the clients).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, type Container } from '../../src/demo/cluster.js';
import { run, waitFor } from '../../src/demo/processes.js';
import { programBinDir } from '../support/programs.js';
import { combine, needPrograms, needRootNetns, requireOrSkip } from '../support/requirements.js';

const TIMEOUT_MS = 300_000;
const DOMAIN = 'px.ztnc';
const suite = 'reverse proxy (root, network namespaces)';

/** A web server answering every GET with JSON: its name and the headers the proxy set. */
const SERVER = (name: string, ip: string): string => `
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
  protocol_version = 'HTTP/1.1'
  def do_GET(self):
    b = json.dumps({'name': '${name}', 'host': self.headers.get('Host'), 'xff': self.headers.get('X-Forwarded-For'),
                    'proto': self.headers.get('X-Forwarded-Proto'), 'fhost': self.headers.get('X-Forwarded-Host'), 'path': self.path}).encode()
    self.send_response(200); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(b)))
    self.end_headers(); self.wfile.write(b)
  def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('${ip}', 8080), H).serve_forever()
`;

interface Answer {
  status: number;
  body: string;
}

/** One request to the proxy on the host's loopback, with the Host header given. */
function get(port: number, host: string, path = '/', tls?: { ca: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, path, headers: { host }, agent: false as const, timeout: 20_000 };
    const done = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    };
    const req = tls ? httpsRequest({ ...opts, servername: host, ca: tls.ca }, done) : httpRequest(opts, done);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Raw bytes to the proxy; what it answers before closing (or, `until`, once it has answered that). */
function raw(port: number, bytes: Buffer | string, opts: { end?: boolean; until?: RegExp } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (opts.until?.test(Buffer.concat(chunks).toString())) s.destroy();
    });
    s.on('error', () => resolve(Buffer.concat(chunks).toString()));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
    s.setTimeout(20_000, () => s.destroy());
    s.write(bytes);
    if (opts.end) s.end();
  });
}

describe.runIf(requireOrSkip(combine(needRootNetns(), needPrograms('python3', 'unshare', 'nginx', 'openssl', 'curl')), suite))(
  suite,
  () => {
    const base = 30000 + Math.floor(Math.random() * 20000);
    const httpPort = base;
    const tlsPort = base + 1;
    const healthPort = base + 2;
    const NGINX_PORT = 8088;
    let cluster: Cluster;
    let alpha: Container;
    let beta: Container;
    let g: Container;
    let nwid: string;
    let gamma: Container | null = null;
    let nginxDir: string;

    const cli = (...args: string[]) => run('ztnc-cli', ['-D', g.home, ...args], { env: cluster.env, timeoutMs: 30_000 });
    const name = (c: Container, n: string) =>
      cluster.root!.apiOk('POST', `/controller/network/${nwid}/member/${c.daemon.address}`, { name: n });
    /** Whether G's own resolver (the config in force at G) knows `label`.px.ztnc. */
    const gKnows = async (label: string): Promise<boolean> => {
      const r = await g.run(
        'unshare',
        [
          '-n',
          'python3',
          '-c',
          `import socket\ntry:\n  print(socket.gethostbyname('${label}.${DOMAIN}'))\nexcept Exception:\n  print('none')`,
        ],
        {
          timeoutMs: 20_000,
        },
      );
      return /^\d+\.\d+\.\d+\.\d+$/.test(r.stdout.trim());
    };
    const json = (a: Answer): Record<string, string> => JSON.parse(a.body) as Record<string, string>;
    const viaNginx = (from: Container, host: string) =>
      from.run('unshare', ['-n', 'curl', '-s', '-m', '10', '-H', `Host: ${host}`, `http://${g.ip}:${NGINX_PORT}/`], { timeoutMs: 30_000 });

    beforeAll(async () => {
      cluster = new Cluster({ binDir: await programBinDir() });
      await cluster.startRoot();
      nwid = await cluster.createNetwork();
      await cluster.root!.apiOk('POST', `/controller/network/${nwid}`, { dns: { domain: DOMAIN, servers: [] } });
      alpha = await cluster.addContainer('alpha', nwid);
      beta = await cluster.addContainer('beta', nwid);
      g = await cluster.addContainer('g', nwid);
      cluster.track(alpha.start('unshare', ['-n', 'python3', '-c', SERVER('alpha', alpha.ip)]));
      cluster.track(beta.start('unshare', ['-n', 'python3', '-c', SERVER('beta', beta.ip)]));
      await name(alpha, 'alpha');
      await name(beta, 'beta');
      await waitFor('G resolving both names', async () => (await gKnows('alpha')) && (await gKnows('beta')), 60_000, 500);
    }, TIMEOUT_MS);

    afterAll(async () => {
      await cluster?.stop();
    }, TIMEOUT_MS);

    it(
      'proxy commands check their arguments and need the gateway role',
      async () => {
        const notGateway = await cli('proxy', 'add', nwid, `127.0.0.1:${httpPort}`, '--names', '8080');
        expect(notGateway.code).toBe(1);
        expect(notGateway.stderr).toMatch(/not the gateway of .*gateway enable/);
        expect((await cli('gateway', 'enable', nwid)).code).toBe(0);
        const neither = await cli('proxy', 'add', nwid);
        expect(neither.code).toBe(2);
        expect(neither.stderr).toMatch(/host-port to listen on, or --upstream-file/);
        const badRoute = await cli('proxy', 'route', nwid, String(httpPort), 'bad host!', 'alpha:80');
        expect(badRoute.code).toBe(2);
        expect(badRoute.stderr).toMatch(/host: "bad host!" is not a host name/);
        const badMember = await cli('proxy', 'route', nwid, String(httpPort), 'x.test', 'alpha');
        expect(badMember.stderr).toMatch(/must be <member name or pattern>:<port>/);
        const onlyCert = await cli('proxy', 'add', nwid, '1234', '--tls-cert', '/nonexistent');
        expect(onlyCert.stderr).toMatch(/--tls-cert and --tls-key go together/);
        const unknown = await cli('proxy', 'route', nwid, '1', 'x.test', 'alpha:80');
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toMatch(/no reverse proxy 1 on/);
        // the API names the field of a bad body
        const api = await g.daemon.api('POST', `/gateway/${nwid}/proxy`, {
          listen: { hostPort: 1 },
          routes: [{ host: '*', member: 'a**', port: 1 }],
        });
        expect(api.status).toBe(400);
        expect(JSON.stringify(api.body)).toMatch(/member: /);
      },
      TIMEOUT_MS,
    );

    it(
      'two names route to two containers, with X-Forwarded-* set; unknown hosts and names are refused',
      async () => {
        const add = await cli('proxy', 'add', nwid, `127.0.0.1:${httpPort}`, '--names', '8080');
        expect(add.stderr).toBe('');
        expect(add.code).toBe(0);
        expect((await cli('proxy', 'route', nwid, String(httpPort), 'www.example.test/api', 'beta:8080')).code).toBe(0);
        expect((await cli('proxy', 'route', nwid, String(httpPort), '*.apps.test', '*:8080')).code).toBe(0);
        expect((await cli('proxy', 'route', nwid, String(httpPort), 'closed.test', 'alpha:8081')).code).toBe(0);

        const a = json(await get(httpPort, `alpha.${DOMAIN}`, '/x?y=1'));
        expect(a).toMatchObject({
          name: 'alpha',
          host: `alpha.${DOMAIN}`,
          proto: 'http',
          xff: '127.0.0.1',
          fhost: `alpha.${DOMAIN}`,
          path: '/x?y=1',
        });
        expect(json(await get(httpPort, `beta.${DOMAIN}:${httpPort}`)).name).toBe('beta');
        // explicit routes: a path prefix, and a host pattern whose * names the member
        expect(json(await get(httpPort, 'www.example.test', '/api/v1')).name).toBe('beta');
        expect((await get(httpPort, 'www.example.test', '/apix')).status).toBe(421);
        expect(json(await get(httpPort, 'alpha.apps.test')).name).toBe('alpha');
        // no route for the host: 421; a route but no such member: 404; nothing listening there: 502
        const unknownHost = await get(httpPort, 'nobody.example.org');
        expect(unknownHost.status).toBe(421);
        expect(unknownHost.body).toMatch(/no route for host nobody.example.org/);
        expect((await get(httpPort, `gamma.${DOMAIN}`)).status).toBe(404);
        expect((await get(httpPort, 'zeta.apps.test')).status).toBe(404);
        const refused = await get(httpPort, 'closed.test');
        expect(refused.status).toBe(502);
        expect(refused.body).toMatch(/member alpha .* cannot be reached/);

        const list = JSON.parse((await cli('-j', 'proxy', 'list', nwid)).stdout) as { key: string; stats: Record<string, number> }[];
        expect(list).toHaveLength(1);
        expect(list[0]!.stats).toMatchObject({ noRoute: 2, noMember: 2, badGateway: 1 });
        expect(list[0]!.stats.forwarded).toBe(4);
        // kept across restarts beside the gateway's own state
        const saved = readFileSync(join(g.home, 'gateway.d', `${nwid}.proxies.json`), 'utf8');
        expect(saved).toContain('*.apps.test');
      },
      TIMEOUT_MS,
    );

    it(
      'a third member that joins is routed once the push naming it is in force',
      async () => {
        gamma = await cluster.addContainer('gamma', nwid);
        cluster.track(gamma.start('unshare', ['-n', 'python3', '-c', SERVER('gamma', gamma.ip)]));
        await waitFor(
          'gamma serving on the network',
          async () =>
            (
              await alpha.run('unshare', ['-n', 'curl', '-s', '-m', '3', `http://${gamma!.ip}:8080/`], { timeoutMs: 15_000 })
            ).stdout.includes('gamma') || undefined,
          60_000,
          500,
        );
        expect((await get(httpPort, `gamma.${DOMAIN}`)).status).toBe(404);
        await name(gamma, 'gamma');
        await waitFor('G resolving gamma', () => gKnows('gamma'), 60_000, 300);
        // the config that carries the name is in force at G: the very next request is routed
        expect(json(await get(httpPort, `gamma.${DOMAIN}`)).name).toBe('gamma');
      },
      TIMEOUT_MS,
    );

    it(
      'HTTPS with a self-signed certificate',
      async () => {
        const dir = join(cluster.dir, 'tls');
        mkdirSync(dir, { recursive: true });
        const cert = join(dir, 'cert.pem');
        const key = join(dir, 'key.pem');
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            key,
            '-out',
            cert,
            '-days',
            '2',
            '-subj',
            `/CN=*.${DOMAIN}`,
            '-addext',
            `subjectAltName=DNS:*.${DOMAIN}`,
          ],
          {
            stdio: 'ignore',
          },
        );
        // a key that is not the certificate's is refused up front
        const otherKey = join(dir, 'other.pem');
        execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-out', otherKey], { stdio: 'ignore' });
        const wrong = await cli('proxy', 'add', nwid, `127.0.0.1:${tlsPort}`, '--tls-cert', cert, '--tls-key', otherKey, '--names', '8080');
        expect(wrong.code).toBe(1);
        expect(wrong.stderr).toMatch(/tls: /);
        const add = await cli('proxy', 'add', nwid, `127.0.0.1:${tlsPort}`, '--tls-cert', cert, '--tls-key', key, '--names', '8080');
        expect(add.stderr).toBe('');
        const a = json(await get(tlsPort, `alpha.${DOMAIN}`, '/', { ca: readFileSync(cert) }));
        expect(a).toMatchObject({ name: 'alpha', proto: 'https' });
        expect(json(await get(tlsPort, `beta.${DOMAIN}`, '/', { ca: readFileSync(cert) })).name).toBe('beta');
        // plain HTTP to the TLS port and a broken handshake do not stop it
        await raw(tlsPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        expect(json(await get(tlsPort, `beta.${DOMAIN}`, '/', { ca: readFileSync(cert) })).name).toBe('beta');
      },
      TIMEOUT_MS,
    );

    it(
      'health checks mark an upstream down and back up',
      async () => {
        const add = await cli('proxy', 'add', nwid, `127.0.0.1:${healthPort}`, '--health', 'http:/', '--health-interval', '0.3');
        expect(add.stderr).toBe('');
        expect((await cli('proxy', 'route', nwid, String(healthPort), 'web.test', 'alpha:8080')).code).toBe(0);
        expect((await cli('proxy', 'route', nwid, String(healthPort), 'down.test', 'alpha:8089')).code).toBe(0);
        type View = { key: string; upstreams: { member: string; port: number; up: boolean; checks: number }[] };
        const upstreams = async () =>
          (JSON.parse((await cli('-j', 'proxy', 'list', nwid)).stdout) as View[]).find((p) => p.key.endsWith(`:${healthPort}`))!.upstreams;
        await waitFor(
          'both upstreams checked',
          async () => {
            const u = await upstreams();
            return u.length === 2 && u.every((x) => x.checks > 0) ? u : undefined;
          },
          60_000,
          300,
        );
        const u = await upstreams();
        expect(u.find((x) => x.port === 8080)!.up).toBe(true);
        expect(u.find((x) => x.port === 8089)!.up).toBe(false);
        const down = await get(healthPort, 'down.test');
        expect(down.status).toBe(502);
        expect(down.body).toMatch(/down \(health checks\)/);
        expect(json(await get(healthPort, 'web.test')).name).toBe('alpha');
        // a server comes up on the port: the next checks mark it up and it is routed
        cluster.track(alpha.start('unshare', ['-n', 'python3', '-c', SERVER('alpha-8089', alpha.ip).replace(', 8080)', ', 8089)')]));
        await waitFor('the upstream marked up', async () => (await upstreams()).find((x) => x.port === 8089)?.up || undefined, 60_000, 300);
        expect(json(await get(healthPort, 'down.test')).name).toBe('alpha-8089');
        expect((await cli('proxy', 'remove', nwid, String(healthPort))).code).toBe(0);
        await expect(get(healthPort, 'web.test')).rejects.toThrow();
      },
      TIMEOUT_MS,
    );

    it(
      'malformed requests and huge headers are answered 400/431 and the daemon keeps serving',
      async () => {
        expect(await raw(httpPort, '\x00\x01\x02 garbage\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
        expect(await raw(httpPort, `GET / HTTP/1.1\r\nHost: alpha.${DOMAIN}\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`)).toMatch(
          /^HTTP\/1.1 431/,
        );
        expect(await raw(httpPort, 'GET / HTTP/1.1\r\nHost: bad host name\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
        expect(
          await raw(httpPort, `GET / HTTP/1.1\r\nHost: alpha.${DOMAIN}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`),
        ).toMatch(/^HTTP\/1.1 400/);
        // a client that goes away mid-request
        expect(await raw(httpPort, `GET / HTTP/1.1\r\nHost: alpha.${DOMAIN}\r\n`, { end: true })).toMatch(/^HTTP\/1.1 400/);
        // an Upgrade request is routed and the connection joined to the member's (which answers it as a plain GET)
        const up = await raw(httpPort, `GET /ws HTTP/1.1\r\nHost: alpha.${DOMAIN}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, {
          until: /"name": "alpha"/,
        });
        expect(up).toMatch(/^HTTP\/1.[01] 200/);
        expect(up).toContain('"xff": "127.0.0.1"');
        expect(
          await raw(httpPort, `GET / HTTP/1.1\r\nHost: nobody.example.org\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`),
        ).toMatch(/^HTTP\/1.1 421/);
        expect(json(await get(httpPort, `alpha.${DOMAIN}`)).name).toBe('alpha');
        expect((await g.daemon.api('GET', '/status')).status).toBe(200);
      },
      TIMEOUT_MS,
    );

    it(
      'the upstream-file mode keeps an nginx upstream file and reloads nginx (SIGHUP)',
      async () => {
        nginxDir = join(cluster.dir, 'nginx');
        mkdirSync(join(nginxDir, 'logs'), { recursive: true });
        const file = join(nginxDir, 'upstreams.conf');
        writeFileSync(file, 'upstream none { server 127.0.0.1:9 down; }\n');
        writeFileSync(
          join(nginxDir, 'nginx.conf'),
          `user ${userInfo().username};
worker_processes 1;
daemon off;
pid ${nginxDir}/nginx.pid;
error_log ${nginxDir}/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${nginxDir}/body; proxy_temp_path ${nginxDir}/proxy; fastcgi_temp_path ${nginxDir}/fastcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;
  include ${file};
  map $host $member { ~^(?<label>[a-z0-9-]+)\\.px\\.ztnc$ $label; default none; }
  server { listen ${g.ip}:${NGINX_PORT}; location / { proxy_pass http://$member; proxy_set_header Host $host; } }
}
`,
        );
        const nginx = cluster.track(
          g.start('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-e', join(nginxDir, 'logs/error.log')]),
        );
        await waitFor(
          'nginx listening',
          async () => (await viaNginx(alpha, `none.${DOMAIN}`)).stdout.includes('502') || undefined,
          60_000,
          500,
        );
        const add = await cli('proxy', 'add', nwid, '--upstream-file', file, '--reload-pid', String(nginx.proc.pid), '--names', '8080');
        expect(add.stderr).toBe('');
        const text = readFileSync(file, 'utf8');
        expect(text).toContain(`upstream alpha {\n    server ${alpha.ip}:8080; # alpha\n}`);
        expect(text).toContain(`upstream gamma {\n    server ${gamma!.ip}:8080; # gamma\n}`);
        await waitFor(
          'nginx routing by the file',
          async () => (await viaNginx(alpha, `beta.${DOMAIN}`)).stdout.includes('"name": "beta"') || undefined,
          30_000,
          300,
        );
        expect((await viaNginx(alpha, `gamma.${DOMAIN}`)).stdout).toContain('"name": "gamma"');
        const view = JSON.parse((await cli('-j', 'proxy', 'list', nwid)).stdout) as {
          key: string;
          upstreamFileStats: { writes: number; reloads: number } | null;
        }[];
        expect(view.find((p) => p.key === file)!.upstreamFileStats).toMatchObject({ writes: 1, reloads: 1 });
        expect(existsSync(file)).toBe(true);
      },
      TIMEOUT_MS,
    );

    it(
      'a de-authorized member stops being routed once the push dropping it is in force, in both modes',
      async () => {
        expect(json(await get(httpPort, `beta.${DOMAIN}`)).name).toBe('beta');
        await cluster.root!.apiOk('POST', `/controller/network/${nwid}/member/${beta.daemon.address}`, { authorized: false });
        await waitFor('G no longer resolving beta', async () => !(await gKnows('beta')) || undefined, 60_000, 300);
        const gone = await get(httpPort, `beta.${DOMAIN}`);
        expect(gone.status).toBe(404);
        expect(gone.body).toMatch(/no member named beta/);
        expect((await get(httpPort, 'www.example.test', '/api')).status).toBe(404);
        expect(json(await get(httpPort, `alpha.${DOMAIN}`)).name).toBe('alpha');
        // the upstream file follows (rewritten by the watcher, then nginx reloaded)
        const file = join(nginxDir, 'upstreams.conf');
        await waitFor(
          'beta out of the upstream file',
          () => !readFileSync(file, 'utf8').includes('upstream beta') || undefined,
          10_000,
          100,
        );
        await waitFor(
          'nginx no longer routing beta',
          async () => !(await viaNginx(alpha, `beta.${DOMAIN}`)).stdout.includes('"name": "beta"') || undefined,
          30_000,
          300,
        );
        expect((await viaNginx(alpha, `alpha.${DOMAIN}`)).stdout).toContain('"name": "alpha"');
      },
      TIMEOUT_MS,
    );
  },
);
