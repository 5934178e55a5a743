/**
 * A network's settings form: name, access, IPv4 auto-assignment with its pools and routes (the
 * easy setup fills both from a /24), IPv6 modes, DNS, MTU, multicast, broadcast and the rules as
 * JSON. Saved in one POST; a refusal names the field, as the controller does.
 */
import { useState } from 'preact/hooks';
import { apiDelete, apiPost } from '../api.js';
import { Notice } from '../components.js';
import { useAction } from '../hooks.js';
import { EASY_RANGES, easySetup, poolsToText, routesToText, textToAddresses, textToPools, textToRoutes } from '../net-setup.js';
import type { ControllerNetwork, V6AssignMode } from '../types.js';

interface Draft {
  name: string;
  private: boolean;
  v4Auto: boolean;
  pools: string;
  routes: string;
  v6: V6AssignMode;
  dnsDomain: string;
  dnsServers: string;
  mtu: string;
  multicastLimit: string;
  enableBroadcast: boolean;
  rules: string;
}

function draftOf(n: ControllerNetwork): Draft {
  const dns = Array.isArray(n.dns) ? { domain: '', servers: [] } : n.dns;
  return {
    name: n.name,
    private: n.private,
    v4Auto: n.v4AssignMode.zt,
    pools: poolsToText(n.ipAssignmentPools),
    routes: routesToText(n.routes),
    v6: { ...n.v6AssignMode },
    dnsDomain: dns.domain,
    dnsServers: dns.servers.join(', '),
    mtu: String(n.mtu),
    multicastLimit: String(n.multicastLimit),
    enableBroadcast: n.enableBroadcast,
    rules: JSON.stringify(n.rules, null, 2),
  };
}

/** The POST body of a draft, or the first problem found before asking the controller. */
function bodyOf(d: Draft): Record<string, unknown> | string {
  const pools = textToPools(d.pools);
  if (typeof pools === 'string') return pools;
  const routes = textToRoutes(d.routes);
  if (typeof routes === 'string') return routes;
  const servers = textToAddresses(d.dnsServers, 'DNS servers');
  if (typeof servers === 'string') return servers;
  const mtu = Number(d.mtu);
  if (!Number.isInteger(mtu)) return 'MTU: must be a whole number';
  const multicastLimit = Number(d.multicastLimit);
  if (!Number.isInteger(multicastLimit) || multicastLimit < 0) return 'multicast limit: must be a whole number, 0 or more';
  let rules: unknown;
  try {
    rules = JSON.parse(d.rules);
  } catch (e) {
    return `rules: not JSON (${(e as Error).message})`;
  }
  if (!Array.isArray(rules)) return 'rules: must be a JSON array of rule objects';
  return {
    name: d.name.trim(),
    private: d.private,
    v4AssignMode: { zt: d.v4Auto },
    ipAssignmentPools: pools,
    routes,
    v6AssignMode: d.v6,
    dns: { domain: d.dnsDomain.trim(), servers },
    mtu,
    multicastLimit,
    enableBroadcast: d.enableBroadcast,
    rules,
  };
}

const V6_MODES: { key: keyof V6AssignMode; label: string; help: string }[] = [
  { key: 'rfc4193', label: 'RFC 4193', help: 'a unique local address computed from the network and member ids (fd…/88)' },
  { key: '6plane', label: '6PLANE', help: 'an address computed per member, with a /80 for its containers (fc…/40)' },
  { key: 'zt', label: 'From IPv6 pools', help: 'assigned from the IPv6 ranges among the pools above' },
];

/** Deleting is final: every member is de-authorized, as stock does. */
function DeleteNetwork({ network }: { network: ControllerNetwork }) {
  const action = useAction();
  const remove = async (): Promise<void> => {
    const what = network.name ? `${network.name} (${network.id})` : network.id;
    if (!confirm(`Delete network ${what}? Every member loses it; this cannot be undone.`)) return;
    if (await action.run(() => apiDelete(`/controller/network/${network.id}`))) location.hash = '#/';
  };
  return (
    <section aria-labelledby="delete-h" class="card">
      <h3 id="delete-h">Delete this network</h3>
      <p class="help">Every member is de-authorized and loses its addresses on the network.</p>
      <button type="button" class="danger" onClick={() => void remove()} disabled={action.busy}>
        Delete network
      </button>
      {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
    </section>
  );
}

export function SettingsSection({ network, onSaved }: { network: ControllerNetwork; onSaved: () => void }) {
  // the form keeps its own copy while edited; "Reset" takes the live settings again
  const [draft, setDraft] = useState<Draft>(() => draftOf(network));
  const [easy, setEasy] = useState('');
  const action = useAction();
  const set = <K extends keyof Draft>(k: K, v: Draft[K]): void => setDraft((d) => ({ ...d, [k]: v }));

  const applyEasy = (): void => {
    const s = easySetup(easy);
    if (!s) return;
    setDraft((d) => ({ ...d, v4Auto: true, pools: poolsToText([s.pool]), routes: routesToText([s.route]) }));
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const body = bodyOf(draft);
    if (typeof body === 'string') return void action.run(() => Promise.reject(new Error(body)));
    const ok = await action.run(() => apiPost(`/controller/network/${network.id}`, body), 'Settings saved.');
    if (ok) onSaved();
  };

  return (
    <section aria-labelledby="settings-h">
      <h2 id="settings-h">Settings</h2>
      <form onSubmit={(e) => void submit(e)} class="settings">
        <fieldset>
          <legend>General</legend>
          <label for="s-name">Name</label>
          <input id="s-name" value={draft.name} maxLength={127} onInput={(e) => set('name', e.currentTarget.value)} />
          <span class="checkbox">
            <input id="s-private" type="checkbox" checked={draft.private} onChange={(e) => set('private', e.currentTarget.checked)} />
            <label for="s-private">Private: members must be authorized (public networks admit anyone who joins)</label>
          </span>
        </fieldset>

        <fieldset>
          <legend>IPv4</legend>
          <span class="checkbox">
            <input id="s-v4auto" type="checkbox" checked={draft.v4Auto} onChange={(e) => set('v4Auto', e.currentTarget.checked)} />
            <label for="s-v4auto">Assign addresses from the pools</label>
          </span>
          <label for="s-easy">Easy setup: a /24 for pool and route</label>
          <span class="row">
            <select id="s-easy" value={easy} onChange={(e) => setEasy(e.currentTarget.value)}>
              <option value="">choose a range…</option>
              {EASY_RANGES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button type="button" class="small" onClick={applyEasy} disabled={easy === ''}>
              Fill pool and route
            </button>
          </span>
          <label for="s-pools">Pools (one a line: first-last)</label>
          <textarea id="s-pools" rows={3} value={draft.pools} onInput={(e) => set('pools', e.currentTarget.value)} spellcheck={false} />
          <label for="s-routes">Managed routes (one a line: target/bits, or target/bits via gateway)</label>
          <textarea id="s-routes" rows={3} value={draft.routes} onInput={(e) => set('routes', e.currentTarget.value)} spellcheck={false} />
        </fieldset>

        <fieldset>
          <legend>IPv6 modes</legend>
          {V6_MODES.map((m) => (
            <span class="checkbox" key={m.key}>
              <input
                id={`s-v6-${m.key}`}
                type="checkbox"
                checked={draft.v6[m.key]}
                onChange={(e) => set('v6', { ...draft.v6, [m.key]: e.currentTarget.checked })}
                aria-describedby={`s-v6-${m.key}-help`}
              />
              <label for={`s-v6-${m.key}`}>{m.label}</label>
              <span id={`s-v6-${m.key}-help`} class="help">
                {m.help}
              </span>
            </span>
          ))}
        </fieldset>

        <fieldset>
          <legend>DNS</legend>
          <label for="s-dns-domain">Domain</label>
          <input
            id="s-dns-domain"
            value={draft.dnsDomain}
            onInput={(e) => set('dnsDomain', e.currentTarget.value)}
            placeholder="home.arpa"
          />
          <label for="s-dns-servers">Servers (separated by commas)</label>
          <input
            id="s-dns-servers"
            value={draft.dnsServers}
            onInput={(e) => set('dnsServers', e.currentTarget.value)}
            placeholder="10.147.17.1"
          />
        </fieldset>

        <fieldset>
          <legend>Traffic</legend>
          <label for="s-mtu">MTU</label>
          <input id="s-mtu" type="number" min={1280} max={10000} value={draft.mtu} onInput={(e) => set('mtu', e.currentTarget.value)} />
          <label for="s-mcast">Multicast recipient limit</label>
          <input
            id="s-mcast"
            type="number"
            min={0}
            value={draft.multicastLimit}
            onInput={(e) => set('multicastLimit', e.currentTarget.value)}
          />
          <span class="checkbox">
            <input
              id="s-bcast"
              type="checkbox"
              checked={draft.enableBroadcast}
              onChange={(e) => set('enableBroadcast', e.currentTarget.checked)}
            />
            <label for="s-bcast">Ethernet broadcast (ff:ff:ff:ff:ff:ff; ARP needs it)</label>
          </span>
        </fieldset>

        <fieldset>
          <legend>Rules</legend>
          <label for="s-rules">Rules as JSON (stock ZeroTier's rule objects; an empty list carries no traffic)</label>
          <textarea
            id="s-rules"
            rows={8}
            value={draft.rules}
            onInput={(e) => set('rules', e.currentTarget.value)}
            spellcheck={false}
            class="mono"
          />
        </fieldset>

        <div class="row">
          <button type="submit" disabled={action.busy}>
            Save settings
          </button>
          <button type="button" class="secondary" onClick={() => (setDraft(draftOf(network)), action.clear())}>
            Reset to the saved settings
          </button>
        </div>
        {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
      </form>
      <DeleteNetwork network={network} />
    </section>
  );
}
