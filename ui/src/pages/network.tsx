/** One network of the controller: its header and sections (members, settings, join tokens). */
import { apiGet } from '../api.js';
import { CopyButton, LoadError } from '../components.js';
import { usePoll } from '../hooks.js';
import type { ControllerNetwork } from '../types.js';
import { MembersSection } from './members.js';
import { SettingsSection } from './settings.js';
import { TokensSection } from './tokens.js';

export type NetworkTab = 'members' | 'settings' | 'tokens';

const TABS: { tab: NetworkTab; label: string; suffix: string }[] = [
  { tab: 'members', label: 'Members', suffix: '' },
  { tab: 'settings', label: 'Settings', suffix: '/settings' },
  { tab: 'tokens', label: 'Join tokens', suffix: '/tokens' },
];

export function NetworkPage({ id, tab }: { id: string; tab: NetworkTab }) {
  const net = usePoll(() => apiGet<ControllerNetwork>(`/controller/network/${id}`), [id]);
  const n = net.data;
  return (
    <>
      <p class="crumbs">
        <a href="#/">Networks</a> ›
      </p>
      <h1>
        {n ? n.name || '(unnamed)' : 'Network'} <code class="nwid">{id}</code> <CopyButton text={id} label="Copy the network id" />
      </h1>
      <LoadError error={net.error} missing={`The controller has no network ${id}.`} />
      <nav aria-label="Network sections" class="tabs">
        {TABS.map((t) => (
          <a key={t.tab} href={`#/network/${id}${t.suffix}`} aria-current={t.tab === tab ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {tab === 'members' && <MembersSection nwid={id} network={n} />}
      {tab === 'settings' && n && <SettingsSection network={n} onSaved={net.reload} />}
      {tab === 'tokens' && <TokensSection nwid={id} />}
    </>
  );
}
