/**
 * Unmodified programs under libztintercept.so on one fixture daemon: each moves a 10 MB random
 * payload over the virtual network and the SHA-256 on the far side must match. The suite runs
 * twice: through the daemon's stack (ZT_NC_FASTPATH=0; the daemon's counters show every payload
 * crossed it) and on the same-daemon fast path, the default (the counters show the daemon joined
 * every connection).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needPrograms, requireOrSkip } from '../support/requirements.js';
import { type Daemon, daemonForSuite, run, shimEnv, STACK_ADDR, startDaemon, startProgram, tempDir, waitFor } from './harness.js';

const PAYLOAD_SIZE = 10 * 1024 * 1024;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const REAL_PROGRAMS = needPrograms('cc', 'make', 'curl', 'python3', 'redis-server', 'redis-cli', 'nginx');

for (const fast of [false, true]) {
  describe.runIf(requireOrSkip(REAL_PROGRAMS, 'netcon real programs'))(
    fast ? 'real programs on one daemon, same-daemon fast path' : 'real programs on one daemon, through its stack',
    () => {
      const tmp = tempDir('ztnc-apps-');
      const www = join(tmp.dir, 'www');
      let daemon: Daemon;
      let payload: Buffer;
      let digest: string;

      beforeAll(async () => {
        mkdirSync(www, { recursive: true });
        payload = randomBytes(PAYLOAD_SIZE);
        digest = sha256(payload);
        writeFileSync(join(www, 'payload.bin'), payload);
        daemon = await startDaemon(join(tmp.dir, 'rpc', 'net.sock'));
      });

      afterAll(async () => {
        const counters = await daemon?.stop();
        // Every app socket was closed again by the end of the suite.
        expect(counters?.socketsOpen).toBe(0);
        if (fast) {
          // The daemon joined every connection that carried a payload (python, node http, node
          // upload, redis SET and GET, three nginx fetches), so none went around it.
          expect(counters?.['fastPath.connects']).toBeGreaterThanOrEqual(8);
        } else {
          // Every payload really crossed the daemon, both out of one program and into another: python,
          // node http, node upload, redis SET and GET, three nginx fetches.
          expect(counters?.bytesFromApps).toBeGreaterThanOrEqual(8 * PAYLOAD_SIZE);
          expect(counters?.bytesToApps).toBeGreaterThanOrEqual(8 * PAYLOAD_SIZE);
          expect(counters?.['fastPath.connects'] ?? 0).toBe(0);
        }
        tmp.remove();
      });

      const env = (): NodeJS.ProcessEnv => shimEnv(daemon.socketPath, fast ? {} : { ZT_NC_FASTPATH: '0' });

      /** curl under the library until the URL answers (the server is up). */
      async function waitForUrl(url: string): Promise<void> {
        await waitFor(async () => (await run('curl', ['-sS', '-o', '/dev/null', '--max-time', '2', url], env())).code === 0, 15_000, url);
      }

      it('python3 -m http.server serves curl', async () => {
        const server = startProgram('python3', ['-m', 'http.server', '--bind', STACK_ADDR, '8080', '--directory', www], env());
        try {
          const url = `http://${STACK_ADDR}:8080/payload.bin`;
          await waitForUrl(url);
          const out = join(tmp.dir, 'py.out');
          const r = await run('curl', ['-sS', '-o', out, url], env());
          expect(r.stderr).toBe('');
          expect(sha256(readFileSync(out))).toBe(digest);
        } finally {
          await server.stop();
        }
      });

      it('node net and http servers and clients', async () => {
        const serverJs = join(tmp.dir, 'server.mjs');
        const clientJs = join(tmp.dir, 'client.mjs');
        writeFileSync(
          serverJs,
          `import http from 'node:http'; import net from 'node:net'; import fs from 'node:fs'; import crypto from 'node:crypto';
const body = fs.readFileSync(${JSON.stringify(join(www, 'payload.bin'))});
http.createServer((req, res) => { res.setHeader('content-length', body.length); res.end(body); }).listen(8090, ${JSON.stringify(STACK_ADDR)});
net.createServer((s) => { const h = crypto.createHash('sha256'); s.on('data', (d) => h.update(d)); s.on('end', () => s.end(h.digest('hex'))); }).listen(8091, ${JSON.stringify(STACK_ADDR)}, () => console.log('LISTENING'));
`,
        );
        writeFileSync(
          clientJs,
          `import http from 'node:http'; import net from 'node:net'; import fs from 'node:fs'; import crypto from 'node:crypto';
const body = fs.readFileSync(${JSON.stringify(join(www, 'payload.bin'))});
const got = await new Promise((resolve, reject) => http.get('http://${STACK_ADDR}:8090/', (res) => { const h = crypto.createHash('sha256'); res.on('data', (d) => h.update(d)); res.on('end', () => resolve(h.digest('hex'))); }).on('error', reject));
const up = await new Promise((resolve, reject) => { const s = net.connect(8091, ${JSON.stringify(STACK_ADDR)}); let r = ''; s.on('data', (d) => (r += d)); s.on('end', () => resolve(r)); s.on('error', reject); s.end(body); });
console.log(JSON.stringify({ http: got, upload: up }));
`,
        );
        const server = startProgram(process.execPath, [serverJs], env());
        try {
          await waitFor(() => server.output().includes('LISTENING'), 15_000, 'node server');
          const r = await run(process.execPath, [clientJs], env());
          expect(r.stderr).toBe('');
          expect(JSON.parse(r.stdout)).toEqual({ http: digest, upload: digest });
        } finally {
          await server.stop();
        }
      });

      it('redis-server stores and returns the payload for redis-cli', async () => {
        const dir = join(tmp.dir, 'redis');
        mkdirSync(dir, { recursive: true });
        const server = startProgram(
          'redis-server',
          ['--port', '6379', '--bind', STACK_ADDR, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', dir],
          env(),
        );
        try {
          await waitFor(async () => (await run('redis-cli', ['-h', STACK_ADDR, 'PING'], env())).stdout.trim() === 'PONG', 15_000, 'redis');
          const input = join(tmp.dir, 'redis.in');
          writeFileSync(input, payload);
          const set = await run('sh', ['-c', `redis-cli -h ${STACK_ADDR} -x SET payload < ${input}`], env());
          expect(set.stdout.trim()).toBe('OK');
          const out = join(tmp.dir, 'redis.out');
          const get = await run('sh', ['-c', `redis-cli -h ${STACK_ADDR} --raw GET payload > ${out}`], env());
          expect(get.code).toBe(0);
          // --raw ends the value with a newline.
          const value = readFileSync(out).subarray(0, PAYLOAD_SIZE);
          expect(sha256(value)).toBe(digest);
        } finally {
          await server.stop();
        }
      });

      it('nginx (epoll, sendfile, two workers) serves curl', async () => {
        const prefix = join(tmp.dir, 'nginx');
        mkdirSync(prefix, { recursive: true });
        const conf = join(prefix, 'nginx.conf');
        const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
        writeFileSync(
          conf,
          `worker_processes 2;
daemon off;
master_process on;
${user}
error_log ${prefix}/error.log warn;
pid ${prefix}/nginx.pid;
events { use epoll; worker_connections 256; }
http {
  sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_timeout 65;
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi;
  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server { listen ${STACK_ADDR}:8081; root ${www}; }
}
`,
        );
        const server = startProgram('nginx', ['-p', prefix, '-c', conf, '-e', `${prefix}/error.log`], env());
        try {
          const url = `http://${STACK_ADDR}:8081/payload.bin`;
          await waitForUrl(url);
          // Several fetches, so more than one worker takes connections off the shared listener.
          for (let i = 0; i < 3; i++) {
            const out = join(tmp.dir, `nginx.${i}.out`);
            const r = await run('curl', ['-sS', '-o', out, url], env());
            expect(r.stderr).toBe('');
            expect(sha256(readFileSync(out))).toBe(digest);
          }
          expect(readFileSync(`${prefix}/error.log`, 'utf8')).not.toMatch(/\[(emerg|alert|crit|error)\]/);
        } finally {
          await server.stop();
        }
      });
    },
  );
}

describe.runIf(requireOrSkip(needPrograms('cc', 'make', 'iperf3'), 'netcon iperf3'))('iperf3 on one daemon', () => {
  const { daemon } = daemonForSuite('ztnc-iperf-');

  it('sets IP_TOS (-S) and reads TCP_INFO: cwnd, RTT and retransmits come from the stack', async () => {
    // Through the stack: a fast-path connection's TCP_INFO has no stack connection behind it.
    const env = shimEnv(daemon().socketPath, { ZT_NC_FASTPATH: '0' });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = startProgram('iperf3', ['-s', '--forceflush', '-B', STACK_ADDR, '-p', String(port)], env);
    try {
      await waitFor(() => server.output().includes('Server listening'), 15_000, 'iperf3 server');
      const r = await run('iperf3', ['-c', STACK_ADDR, '-p', String(port), '-n', '4M', '-J', '-S', '16'], env, 60_000);
      expect(r.stderr).toBe('');
      expect(r.code, r.stdout).toBe(0);
      const report = JSON.parse(r.stdout) as {
        error?: string;
        intervals: { streams: { snd_cwnd: number; rtt: number; retransmits: number }[] }[];
        end: { streams: { sender: { bytes: number; retransmits: number; max_snd_cwnd: number; mean_rtt: number } }[] };
      };
      expect(report.error).toBeUndefined();
      const sender = report.end.streams[0]!.sender;
      expect(sender.bytes).toBe(4 * 1024 * 1024);
      // Without TCP_INFO iperf3 leaves these out or reports zeros.
      expect(sender.max_snd_cwnd).toBeGreaterThan(0);
      expect(sender.mean_rtt).toBeGreaterThan(0);
      expect(Number.isInteger(sender.retransmits) && sender.retransmits >= 0).toBe(true);
      const first = report.intervals[0]!.streams[0]!;
      expect(first.snd_cwnd).toBeGreaterThan(0);
      expect(first.rtt).toBeGreaterThan(0);
      expect(server.output()).not.toMatch(/Protocol not available|getsockopt/);
    } finally {
      await server.stop();
    }
  });
});

describe.runIf(requireOrSkip(needPrograms('cc', 'make', 'sshd', 'ssh', 'ssh-keygen'), 'netcon sshd'))('sshd and ssh on one daemon', () => {
  const { tmp, daemon } = daemonForSuite('ztnc-ssh-');

  it('runs a command without IP_TOS complaints: both ends set the QoS bits of their sessions', async () => {
    const env = shimEnv(daemon().socketPath);
    const dir = join(tmp.dir, 'ssh');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const key of ['host', 'user']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, key)]);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user.pub')));
    chmodSync(join(dir, 'authorized_keys'), 0o600);
    // Privilege separation wants its empty directory when sshd runs as root.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(
      join(dir, 'sshd_config'),
      `Port ${port}
ListenAddress ${STACK_ADDR}
HostKey ${join(dir, 'host')}
AuthorizedKeysFile ${join(dir, 'authorized_keys')}
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
StrictModes no
UsePAM no
PidFile ${join(dir, 'sshd.pid')}
`,
    );
    // sshd re-executes itself and insists on an absolute path.
    const sshd = execFileSync('sh', ['-c', 'command -v sshd'], { encoding: 'utf8' }).trim();
    const server = startProgram(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], env);
    const args = [
      '-i',
      join(dir, 'user'),
      '-p',
      String(port),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      `${userInfo().username}@${STACK_ADDR}`,
      'echo ran-over-ztnc',
    ];
    try {
      await waitFor(() => server.output().includes('Server listening'), 15_000, 'sshd');
      const r = await run('ssh', args, env, 60_000);
      expect(r.stdout, r.stderr).toBe('ran-over-ztnc\n');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(server.output()).not.toMatch(/IP_TOS|Protocol not available/);
    } finally {
      await server.stop();
    }
  });
});
