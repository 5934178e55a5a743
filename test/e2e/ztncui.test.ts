/**
 * ztncui (key-networks/ztncui, an Express app people run in front of stock ZeroTier controllers)
 * driven end to end against a ztnc controller, unchanged. Optional: set ZTNCUI_DIR to a ztncui
 * checkout (its top or its `src`) with `npm install` done in `src`; ztnc ships no ztncui.
 *
 * A ztnc root+controller daemon on a private planet; ztncui started against its local API
 * (ZT_ADDR, ZT_TOKEN, HTTP_PORT, as its README says) from a scratch directory holding a copy of
 * its `etc` (it keeps `etc/passwd` and `etc/storage` relative to its working directory, so the
 * checkout is never written). Through ztncui's pages, by the form posts its HTML and jQuery make:
 * log in as admin with the default password, set a new one as it demands, create a network, run
 * its "easy setup" (route and IPv4 pool); a ztnc member daemon joins; the member shows on the
 * network's page, is authorized there (the members checkbox), gets an address from the pool, and
 * the page then shows the member authorized, its address, and ONLINE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optionalSuite } from '../support/requirements.js';
import { assignedIp, killAll, startRoot, startService, tempDir, waitFor } from '../service/service-harness.js';

/** ztncui's `src` directory (the one holding bin/www), or why the suite cannot run. */
function ztncuiSource(): { src: string } | { why: string } {
  const dir = process.env.ZTNCUI_DIR;
  if (!dir) return { why: 'set ZTNCUI_DIR to a ztncui checkout with `npm install` done in its src directory' };
  const src = [join(dir, 'src'), dir].find((d) => existsSync(join(d, 'bin', 'www')));
  if (!src) return { why: `ZTNCUI_DIR=${dir} holds no bin/www (neither at its top nor in src/)` };
  if (!existsSync(join(src, 'node_modules', 'express')) || !existsSync(join(src, 'node_modules', 'argon2')))
    return { why: `ztncui's dependencies are not installed: run npm install in ${src}` };
  return { src };
}

const found = ztncuiSource();
const unavailable = 'why' in found ? found.why : null;

const children: ChildProcess[] = [];
afterAll(async () => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await killAll();
}, 60_000);

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A browser's session with ztncui: its cookie, form posts, redirects followed by hand. */
class Browser {
  private cookie = '';
  constructor(private readonly base: string) {}

  private remember(res: Response): void {
    const set = res.headers.getSetCookie();
    if (set.length > 0) this.cookie = set.map((c) => c.split(';')[0]).join('; ');
  }

  /** GET, following redirects; returns the final page's status, URL path and HTML. */
  async get(path: string): Promise<{ status: number; path: string; html: string }> {
    for (let hops = 0; hops < 5; hops++) {
      const res = await fetch(this.base + path, {
        headers: { cookie: this.cookie },
        redirect: 'manual',
        signal: AbortSignal.timeout(30_000),
      });
      this.remember(res);
      const to = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && to) {
        path = to;
        continue;
      }
      return { status: res.status, path, html: await res.text() };
    }
    throw new Error(`too many redirects from ${path}`);
  }

  /** A form post (application/x-www-form-urlencoded), then the page it leads to. */
  async post(path: string, form: Record<string, string>): Promise<{ status: number; path: string; html: string }> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
    this.remember(res);
    const to = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && to) return this.get(to);
    return { status: res.status, path, html: await res.text() };
  }

  /**
   * A post ztncui's page makes with jQuery and never answers (its members handler sends no
   * response): sent, and abandoned when the test ends; its effect is checked on the pages.
   */
  postUnanswered(path: string, form: Record<string, string>, signal: AbortSignal): void {
    void fetch(this.base + path, {
      method: 'POST',
      headers: { cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'XMLHttpRequest' },
      body: new URLSearchParams(form).toString(),
      signal,
    }).catch(() => undefined);
  }
}

/** The row of `memberId` in the network page's members table. */
function memberRow(html: string, memberId: string): string | null {
  const rows = html.split('<tr>');
  return rows.find((r) => r.includes(`value="${memberId}"`) && r.includes('authCheck')) ?? null;
}

describe.runIf(optionalSuite(unavailable, 'ztncui against a ztnc controller'))('ztncui against a ztnc controller', () => {
  it('logs in, creates a network, sets its pool, authorizes a joining ztnc member and shows its address', async () => {
    const src = (found as { src: string }).src;
    const tmp = tempDir('ztnc-ztncui-');
    const controller = await startRoot(join(tmp, 'controller'));
    const planet = join(controller.home, 'planet');
    const controllerAddress = await controller.address();

    const run = join(tmp, 'ztncui');
    mkdirSync(run);
    cpSync(join(src, 'etc', 'default.passwd'), join(run, 'etc', 'passwd'));
    const httpPort = await freeTcpPort();
    let output = '';
    const ui = spawn(process.execPath, [join(src, 'bin', 'www')], {
      cwd: run,
      env: {
        PATH: process.env.PATH,
        HOME: run,
        NODE_ENV: 'production',
        ZT_ADDR: `http://127.0.0.1:${controller.apiPort}`,
        ZT_TOKEN: controller.token,
        HTTP_PORT: String(httpPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(ui);
    ui.stdout.on('data', (d: Buffer) => (output += d.toString()));
    ui.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const browser = new Browser(`http://localhost:${httpPort}`);
    await waitFor(
      async () => {
        if (ui.exitCode !== null) throw new Error(`ztncui exited (${ui.exitCode}):\n${output}`);
        return (await browser.get('/').catch(() => null))?.status === 200;
      },
      60_000,
      'ztncui to answer',
    );

    // the default admin/password, then the new password ztncui insists on
    let page = await browser.post('/login', { username: 'admin', password: 'password' });
    expect(page.path).toBe('/users/admin/password');
    const newPassword = 'ztnc-ztncui-test-password';
    page = await browser.post('/users/admin/password', { username: 'admin', password1: newPassword, password2: newPassword });
    expect(page.status, page.html).toBe(200);
    page = await browser.get('/controller');
    expect(page.status).toBe(200);
    // ztncui read /status: the controller's address is on its front page
    expect(page.html).toContain(controllerAddress);

    // a network, made through its form
    page = await browser.post('/controller/network/create', { name: 'ztncui-net' });
    const nwid = /\/controller\/network\/([0-9a-f]{16})$/.exec(page.path)?.[1];
    expect(nwid, `landed on ${page.path}`).toBeDefined();
    expect(nwid!.startsWith(controllerAddress)).toBe(true);
    expect(page.html).toContain('ztncui-net');
    expect((await browser.get('/controller/networks')).html).toContain(nwid!);

    // its easy setup: route and pool
    page = await browser.post(`/controller/network/${nwid}/easy`, {
      networkCIDR: '10.147.30.0/24',
      poolStart: '10.147.30.10',
      poolEnd: '10.147.30.100',
    });
    expect(page.html).toContain('Network setup succeeded');
    const net = await controller.get<{ ipAssignmentPools: unknown[]; routes: unknown[]; v4AssignMode: { zt: boolean } }>(
      `/controller/network/${nwid}`,
    );
    expect(net.ipAssignmentPools).toEqual([{ ipRangeStart: '10.147.30.10', ipRangeEnd: '10.147.30.100' }]);
    expect(net.routes).toEqual([{ target: '10.147.30.0/24', via: null }]);
    expect(net.v4AssignMode.zt).toBe(true);

    // a ztnc member joins: it shows on the network's page, not authorized
    const member = await startService(join(tmp, 'member'), ['--planet', planet]);
    const memberId = await member.address();
    await member.post(`/network/${nwid}`);
    const row = await waitFor(
      async () => memberRow((await browser.get(`/controller/network/${nwid}`)).html, memberId),
      60_000,
      "the member on ztncui's network page",
    );
    expect(row).not.toMatch(/checked/);

    // authorized there, as the checkbox's jQuery post does
    const abandon = new AbortController();
    try {
      browser.postUnanswered(`/controller/network/${nwid}/members`, { id: memberId, auth: 'true' }, abandon.signal);
      const ip = await assignedIp(member, nwid!, 60_000);
      expect(ip).toMatch(/^10\.147\.30\.\d+$/);
      const last = Number(ip.split('.')[3]);
      expect(last).toBeGreaterThanOrEqual(10);
      expect(last).toBeLessThanOrEqual(100);
      // the page shows it authorized, with its address, online
      const shown = await waitFor(
        async () => {
          const r = memberRow((await browser.get(`/controller/network/${nwid}`)).html, memberId);
          return r && /checked/.test(r) && r.includes(ip) && r.includes('ONLINE') ? r : null;
        },
        60_000,
        "the member authorized, addressed and online on ztncui's page",
      );
      expect(shown).toContain(ip);
      // and on the member's own page
      expect((await browser.get(`/controller/network/${nwid}/member/${memberId}`)).html).toContain(ip);
    } finally {
      abandon.abort();
    }
  });
});
