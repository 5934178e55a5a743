// The web UI in a real browser: Debian's chromium, headless, driven by playwright-core against a
// real root+controller daemon and a member daemon on loopback (private planet). It logs in with
// the token, creates a network, authorizes the member that joins it with one click, and checks
// the address the member got is on the page; also the settings form, the join-token page and
// this node's page, at desktop and phone width. Screenshots go to test-artifacts/web-ui/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignedIp, killAll, startRoot, startService, tempDir, waitFor, type Service } from '../service/service-harness.js';
import { ROOT } from '../support/programs.js';
import { requireOrSkip, type Requirement } from '../support/requirements.js';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts', 'web-ui');
const UI_WAIT_MS = 30_000;

function needChromium(): Requirement {
  return existsSync(CHROMIUM)
    ? { ok: true, reason: '' }
    : { ok: false, reason: `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium)` };
}

/** Saves a screenshot, after checking that every form control on the page has a name a screen reader reads. */
async function shot(page: Page, name: string): Promise<void> {
  const unnamed = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((e) => e.labels?.length === 0 && !e.getAttribute('aria-label') && !(e.textContent ?? '').trim())
    .map((e) => e.outerHTML.slice(0, 120))`);
  expect(unnamed, `controls without a label on ${name}`).toEqual([]);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

describe.runIf(requireOrSkip(needChromium(), 'web UI in chromium'))('web UI in chromium', () => {
  let root: Service;
  let member: Service;
  let browser: Browser;
  let page: Page;
  let base = '';
  let nwid = '';
  let memberAddress = '';
  /** Uncaught errors and console errors of the pages: none is expected. */
  const pageErrors: string[] = [];
  const watch = (p: Page): Page => {
    p.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}\n${e.stack ?? ''}`));
    p.on('console', (m) => {
      // the browser logs every API answer that is not 2xx; those the test provokes (the refused
      // log-in's 401, the bad route's 400) and the routes a build may lack (join tokens, metrics:
      // 404) are answers the pages show, not errors of the page
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (400|401|404)\b/.test(m.text()))
        pageErrors.push(m.text());
    });
    return p;
  };

  beforeAll(async () => {
    // the daemons serve dist/ui: build it from the current sources, as `npm run build` does
    execFileSync(process.execPath, [join(ROOT, 'ui', 'build.mjs')], { stdio: 'inherit' });
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const tmp = tempDir('ztnc-webui-e2e-');
    root = await startRoot(join(tmp, 'root'));
    member = await startService(join(tmp, 'member'), ['--planet', join(root.home, 'planet')]);
    memberAddress = await member.address();
    base = `http://127.0.0.1:${root.apiPort}`;
    // Chromium's sandbox needs user namespaces it does not get as root; the page is our own
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = watch(await browser.newPage({ viewport: { width: 1280, height: 900 } }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await killAll();
  });

  it('serves the page without a token and logs in with it', async () => {
    const res = await page.goto(`${base}/app/`);
    expect(res?.status()).toBe(200);
    await page.getByLabel('Auth token').fill('not-the-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_WAIT_MS }).toContain('refused');
    await shot(page, '01-login-refused');
    await page.getByLabel('Auth token').fill(root.token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Networks', level: 1 }).waitFor({ timeout: UI_WAIT_MS });
    // the token stays in the tab's session storage only
    expect(await page.evaluate('sessionStorage.getItem("ztnc.authToken")')).toBe(root.token);
  });

  it('creates a network with the easy setup', async () => {
    await page.getByLabel('Name', { exact: true }).fill('browser-net');
    await page.getByLabel('IPv4 range (easy setup)').selectOption('10.147.19.0/24');
    await page.getByRole('button', { name: 'Create network' }).click();
    await page.waitForURL(/#\/network\/[0-9a-f]{16}$/, { timeout: UI_WAIT_MS });
    nwid = /#\/network\/([0-9a-f]{16})$/.exec(page.url())![1]!;
    const net = await root.get<{ name: string; private: boolean; ipAssignmentPools: unknown[]; routes: unknown[] }>(
      `/controller/network/${nwid}`,
    );
    expect(net).toMatchObject({
      name: 'browser-net',
      private: true,
      ipAssignmentPools: [{ ipRangeStart: '10.147.19.1', ipRangeEnd: '10.147.19.254' }],
      routes: [{ target: '10.147.19.0/24', via: null }],
    });
    await page.getByRole('heading', { level: 1, name: /browser-net/ }).waitFor({ timeout: UI_WAIT_MS });
    await page.getByText('No member has asked to join yet').waitFor({ timeout: UI_WAIT_MS });
    await shot(page, '02-network-created');
    // the list shows it too, and leads back to it
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Networks' }).click();
    const link = page.getByRole('link', { name: 'browser-net' });
    await link.waitFor({ timeout: UI_WAIT_MS });
    await shot(page, '02b-networks');
    await link.click();
    await page.waitForURL(new RegExp(`#/network/${nwid}$`), { timeout: UI_WAIT_MS });
  });

  it('shows a joining member, authorizes it with one click and shows the address it got', async () => {
    await member.post(`/network/${nwid}`, {});
    // the page polls: the member appears without a reload, not yet authorized
    const authorize = page.getByRole('switch', { name: `Authorized ${memberAddress}` });
    await authorize.waitFor({ timeout: UI_WAIT_MS });
    expect(await authorize.isChecked()).toBe(false);
    await shot(page, '03-member-waiting');
    await authorize.click();
    await expect.poll(() => authorize.isChecked(), { timeout: UI_WAIT_MS }).toBe(true);
    const ips = page.getByLabel(`IP assignments of ${memberAddress}`);
    await expect.poll(() => ips.inputValue(), { timeout: UI_WAIT_MS }).toMatch(/^10\.147\.19\.\d+$/);
    const shown = await ips.inputValue();
    // the member itself got that address from the controller
    expect(await assignedIp(member, nwid, UI_WAIT_MS)).toBe(shown);
    const row = page.locator(`tr[data-member="${memberAddress}"]`);
    await expect.poll(() => row.textContent(), { timeout: UI_WAIT_MS }).toMatch(/online/);
    await shot(page, '04-member-authorized');
  });

  it('renames the member in place', async () => {
    const name = page.getByLabel(`Name of ${memberAddress}`);
    await name.fill('web-1');
    await name.press('Enter');
    await waitFor(
      async () => (await root.get<{ name?: string }>(`/controller/network/${nwid}/member/${memberAddress}`)).name === 'web-1',
      UI_WAIT_MS,
      'the member renamed',
    );
  });

  it('follows changes made elsewhere without a reload', async () => {
    await root.post(`/controller/network/${nwid}/member/${memberAddress}`, { name: 'renamed-by-api' });
    await expect.poll(() => page.getByLabel(`Name of ${memberAddress}`).inputValue(), { timeout: UI_WAIT_MS }).toBe('renamed-by-api');
  });

  it('de-authorizes and authorizes again from the keyboard', async () => {
    const sw = page.getByRole('switch', { name: `Authorized ${memberAddress}` });
    const authorized = async () =>
      (await root.get<{ authorized: boolean }>(`/controller/network/${nwid}/member/${memberAddress}`)).authorized;
    await sw.focus();
    await page.keyboard.press('Space');
    await waitFor(async () => !(await authorized()), UI_WAIT_MS, 'the member de-authorized');
    await expect.poll(() => sw.isChecked(), { timeout: UI_WAIT_MS }).toBe(false);
    await expect.poll(() => sw.getAttribute('aria-busy'), { timeout: UI_WAIT_MS }).toBe('false');
    // the switch keeps the keyboard focus through the change
    const focused = (e: unknown): boolean =>
      e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;
    expect(await sw.evaluate(focused)).toBe(true);
    await page.keyboard.press('Space');
    await waitFor(authorized, UI_WAIT_MS, 'the member authorized again');
    await expect.poll(() => sw.isChecked(), { timeout: UI_WAIT_MS }).toBe(true);
  });

  it('saves the settings form and refuses a bad field with its name', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Domain').fill('browser.test');
    await page.getByLabel('Servers (separated by commas)').fill('10.147.19.1');
    await page.getByLabel('RFC 4193').check();
    await page.getByLabel('MTU').fill('2000');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Settings saved.' }).waitFor({ timeout: UI_WAIT_MS });
    const net = await root.get<Record<string, unknown>>(`/controller/network/${nwid}`);
    expect(net).toMatchObject({ dns: { domain: 'browser.test', servers: ['10.147.19.1'] }, mtu: 2000, v6AssignMode: { rfc4193: true } });
    await shot(page, '05-settings');
    // the easy setup fills pool and route from a /24 (not saved here)
    await page.getByLabel('Easy setup: a /24 for pool and route').selectOption('10.147.20.0/24');
    await page.getByRole('button', { name: 'Fill pool and route' }).click();
    expect(await page.getByLabel(/^Pools/).inputValue()).toBe('10.147.20.1-10.147.20.254');
    expect(await page.getByLabel(/^Managed routes/).inputValue()).toBe('10.147.20.0/24');
    await page.getByRole('button', { name: 'Reset to the saved settings' }).click();
    expect(await page.getByLabel(/^Managed routes/).inputValue()).toBe('10.147.19.0/24');
    await page.getByLabel(/^Managed routes/).fill('10.147.19.0/33');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: UI_WAIT_MS }).toContain('routes[0].target');
    expect((await root.get<{ routes: unknown[] }>(`/controller/network/${nwid}`)).routes).toEqual([
      { target: '10.147.19.0/24', via: null },
    ]);
  });

  it('shows the join tokens page, or says the daemon has none', async () => {
    await page.getByRole('link', { name: 'Join tokens' }).click();
    await page.getByRole('heading', { name: 'Join tokens', level: 2 }).waitFor({ timeout: UI_WAIT_MS });
    const served = (await root.api('GET', `/controller/network/${nwid}/token`)).status !== 404;
    if (!served) {
      await page.getByText('This daemon does not serve join tokens').waitFor({ timeout: UI_WAIT_MS });
      await shot(page, '06-join-tokens');
      return;
    }
    await page.getByLabel('Name (optional)').fill('ci-runners');
    await page.getByLabel('Uses (0 = unlimited)').fill('3');
    await page.getByLabel('Expires in hours (empty: never)').fill('2');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.locator('code.secret').textContent({ timeout: UI_WAIT_MS })) ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(16);
    const listed = await root.get<{ id: string; name: string; uses: number; revoked: boolean; token?: string }[]>(
      `/controller/network/${nwid}/token`,
    );
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'ci-runners', uses: 3, revoked: false });
    expect(listed[0]!.token).toBeUndefined();
    const revoke = page.getByRole('button', { name: `Revoke join token ci-runners (${listed[0]!.id})` });
    await revoke.waitFor({ timeout: UI_WAIT_MS });
    await shot(page, '06-join-tokens');
    page.once('dialog', (d) => void d.accept());
    await revoke.click();
    await page.locator('.badge', { hasText: 'revoked' }).waitFor({ timeout: UI_WAIT_MS });
    expect((await root.get<{ revoked: boolean }[]>(`/controller/network/${nwid}/token`))[0]!.revoked).toBe(true);
    await shot(page, '06b-join-token-revoked');
  });

  it("shows this node's status, joined networks and peers", async () => {
    await page.getByRole('link', { name: 'This node' }).click();
    await page.getByRole('heading', { name: 'This node', level: 1 }).waitFor({ timeout: UI_WAIT_MS });
    const address = await root.address();
    await page.locator('dd code', { hasText: address }).waitFor({ timeout: UI_WAIT_MS });
    await page.locator('td code', { hasText: memberAddress }).waitFor({ timeout: UI_WAIT_MS });
    await shot(page, '07-node');
  });

  it('is usable at phone width', async () => {
    const phone = watch(await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true }));
    try {
      await phone.goto(`${base}/app/#/network/${nwid}`);
      await phone.getByLabel('Auth token').fill(root.token);
      await phone.getByRole('button', { name: 'Log in' }).click();
      const sw = phone.getByRole('switch', { name: `Authorized ${memberAddress}` });
      await sw.waitFor({ timeout: UI_WAIT_MS });
      expect(await sw.isChecked()).toBe(true);
      // nothing wider than the screen: no sideways scrolling
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      await shot(phone, '08-phone-members');
    } finally {
      await phone.close();
    }
  });

  it('deletes the network from its settings', async () => {
    await page.goto(`${base}/app/#/network/${nwid}/settings`);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete network' }).click();
    await page.waitForURL(/#\/$/, { timeout: UI_WAIT_MS });
    expect((await root.api('GET', `/controller/network/${nwid}`)).status).toBe(404);
    await page.getByText('No networks yet').waitFor({ timeout: UI_WAIT_MS });
  });

  it('logs out and forgets the token', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Auth token').waitFor({ timeout: UI_WAIT_MS });
    expect(await page.evaluate('sessionStorage.getItem("ztnc.authToken")')).toBeNull();
  });

  it('raised no error in the pages', () => {
    expect(pageErrors).toEqual([]);
  });
});
