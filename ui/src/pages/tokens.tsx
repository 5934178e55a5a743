/**
 * A network's join tokens: create (uses, expiry, an address or a name for what it admits), the
 * list with uses left, and revocation. The secret is shown once, right after creation, as the
 * controller gives it only then. A daemon without the token routes answers 404: said plainly.
 */
import { useState } from 'preact/hooks';
import { apiDelete, apiGet, apiPost, isMissingRoute } from '../api.js';
import { Badge, CopyButton, Freshness, LoadError, Notice } from '../components.js';
import { useAction, usePoll } from '../hooks.js';
import { dateTime, textToAddresses } from '../net-setup.js';
import type { JoinToken } from '../types.js';

function tokenState(t: JoinToken, now: number): { tone: 'good' | 'bad' | 'neutral'; text: string } {
  if (t.revoked) return { tone: 'bad', text: 'revoked' };
  if (t.expiresAt !== null && t.expiresAt <= now) return { tone: 'neutral', text: 'expired' };
  if (t.uses !== 0 && t.usesLeft <= 0) return { tone: 'neutral', text: 'used up' };
  return { tone: 'good', text: 'valid' };
}

function CreateToken({ nwid, onCreated }: { nwid: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [uses, setUses] = useState('1');
  const [hours, setHours] = useState('');
  const [ip, setIp] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const action = useAction();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setSecret(null);
    const body: Record<string, unknown> = {};
    const n = Number(uses);
    if (!Number.isInteger(n) || n < 0) return void action.run(() => Promise.reject(new Error('uses: a whole number, 0 for unlimited')));
    body.uses = n;
    if (name.trim()) body.name = name.trim();
    if (hours.trim()) {
      const h = Number(hours);
      if (!(h > 0)) return void action.run(() => Promise.reject(new Error('expires in: a number of hours above 0')));
      body.expiresIn = Math.round(h * 3600);
    }
    const ips = textToAddresses(ip, 'IP assignment');
    if (typeof ips === 'string') return void action.run(() => Promise.reject(new Error(ips)));
    if (ips.length > 0) body.ipAssignments = ips;
    const ok = await action.run(async () => {
      const t = await apiPost<JoinToken>(`/controller/network/${nwid}/token`, body);
      setSecret(t.token ?? null);
    });
    if (ok) onCreated();
  };
  return (
    <section aria-labelledby="token-new-h" class="card">
      <h3 id="token-new-h">Create a join token</h3>
      <form onSubmit={(e) => void submit(e)} class="grid-form">
        <label for="t-name">Name (optional)</label>
        <input id="t-name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="ci-runners" />
        <label for="t-uses">Uses (0 = unlimited)</label>
        <input id="t-uses" type="number" min={0} value={uses} onInput={(e) => setUses(e.currentTarget.value)} />
        <label for="t-hours">Expires in hours (empty: never)</label>
        <input id="t-hours" type="number" min={0} step="any" value={hours} onInput={(e) => setHours(e.currentTarget.value)} />
        <label for="t-ip">IP address for the member (optional)</label>
        <input id="t-ip" value={ip} onInput={(e) => setIp(e.currentTarget.value)} placeholder="10.147.17.20" />
        <button type="submit" disabled={action.busy} class="span">
          Create token
        </button>
      </form>
      {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
      {secret && (
        <div class="notice ok" role="status">
          <p>
            The token (shown only now): <code class="secret">{secret}</code> <CopyButton text={secret} label="Copy the token" />
          </p>
          <p class="help">
            On a member: <code>ztnc-cli join {nwid} --token …</code>, a line <code>token=…</code> in <code>networks.d/{nwid}.conf</code>, or{' '}
            <code>ZTNC_JOIN_TOKEN</code>.
          </p>
        </div>
      )}
    </section>
  );
}

function TokenRow({ t, nwid, now, onChange }: { t: JoinToken; nwid: string; now: number; onChange: () => void }) {
  const action = useAction();
  const state = tokenState(t, now);
  const label = t.name ? `${t.name} (${t.id})` : t.id;
  const revoke = (): void => {
    if (!confirm(`Revoke join token ${label}? Members it admitted stay authorized.`)) return;
    void action.run(async () => {
      await apiDelete(`/controller/network/${nwid}/token/${t.id}`);
      onChange();
    });
  };
  return (
    <tr>
      <td data-label="Token">
        <code>{t.id}</code> {t.name}
      </td>
      <td data-label="State">
        <Badge tone={state.tone}>{state.text}</Badge>
      </td>
      <td data-label="Uses left">{t.uses === 0 ? 'unlimited' : `${t.usesLeft} of ${t.uses}`}</td>
      <td data-label="Expires">{t.expiresAt === null ? 'never' : dateTime(t.expiresAt)}</td>
      <td data-label="Created">{dateTime(t.createdAt)}</td>
      <td data-label="Addresses">{t.ipAssignments.join(', ') || '—'}</td>
      <td data-label="Actions">
        {!t.revoked && (
          <button type="button" class="small danger" onClick={revoke} disabled={action.busy} aria-label={`Revoke join token ${label}`}>
            Revoke
          </button>
        )}
        {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
      </td>
    </tr>
  );
}

export function TokensSection({ nwid }: { nwid: string }) {
  const list = usePoll(() => apiGet<JoinToken[]>(`/controller/network/${nwid}/token`), [nwid]);
  if (isMissingRoute(list.error)) {
    return (
      <section aria-labelledby="tokens-h">
        <h2 id="tokens-h">Join tokens</h2>
        <p class="notice info">
          This daemon does not serve join tokens (its API answers 404 for <code>/controller/network/{nwid}/token</code>): it is a build
          without them. Authorize members on the Members page instead.
        </p>
      </section>
    );
  }
  const tokens = list.data ?? [];
  return (
    <section aria-labelledby="tokens-h">
      <h2 id="tokens-h">Join tokens</h2>
      <p class="help">A member presenting a valid token when it joins is authorized at once; each use counts.</p>
      <Freshness at={list.at} />
      <LoadError error={list.error} />
      {list.data && tokens.length === 0 && <p>No join tokens yet.</p>}
      {tokens.length > 0 && (
        <table class="cards">
          <caption class="visually-hidden">Join tokens of network {nwid}</caption>
          <thead>
            <tr>
              <th scope="col">Token</th>
              <th scope="col">State</th>
              <th scope="col">Uses left</th>
              <th scope="col">Expires</th>
              <th scope="col">Created</th>
              <th scope="col">Addresses</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <TokenRow key={t.id} t={t} nwid={nwid} now={list.at} onChange={list.reload} />
            ))}
          </tbody>
        </table>
      )}
      <CreateToken nwid={nwid} onCreated={list.reload} />
    </section>
  );
}
