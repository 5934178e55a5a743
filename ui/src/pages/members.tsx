/**
 * A network's members, live: one click authorizes or de-authorizes; names and IP assignments are
 * edited in place; last seen, version and physical address come from the member's config
 * requests, online state from this node's peers (/peer).
 */
import { useState } from 'preact/hooks';
import { apiDelete, apiGet, apiPost, preferRoute } from '../api.js';
import { Badge, Freshness, LoadError, Notice } from '../components.js';
import { useAction, usePoll } from '../hooks.js';
import { ago, peerOnline, peerPath, textToAddresses, versionText } from '../net-setup.js';
import type { ControllerNetwork, Member, Peer } from '../types.js';

interface MembersView {
  members: Member[];
  peers: Map<string, Peer>;
}

/** Every member: in one request where the daemon serves stock's `/unstable` list, else one each. */
async function memberList(nwid: string): Promise<Member[]> {
  return preferRoute(
    'unstable-members',
    async () => (await apiGet<{ data: Member[] }>(`/unstable/controller/network/${nwid}/member`)).data,
    async () => {
      const revisions = await apiGet<Record<string, number>>(`/controller/network/${nwid}/member`);
      const all = await Promise.all(
        Object.keys(revisions).map((a) => apiGet<Member>(`/controller/network/${nwid}/member/${a}`).catch(() => null)),
      );
      return all.filter((m): m is Member => m !== null);
    },
  );
}

async function loadMembers(nwid: string): Promise<MembersView> {
  const [members, peers] = await Promise.all([memberList(nwid), apiGet<Peer[]>('/peer').catch(() => [] as Peer[])]);
  return {
    members: members.sort((a, b) => a.creationTime - b.creationTime || a.address.localeCompare(b.address)),
    peers: new Map(peers.map((p) => [p.address, p])),
  };
}

/** A text field saved on Enter or when it loses focus, if changed. */
function InlineEdit({
  value,
  label,
  placeholder,
  onSave,
}: {
  value: string;
  label: string;
  placeholder?: string;
  onSave: (v: string) => Promise<boolean>;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const save = async (): Promise<void> => {
    if (draft === null || draft === value) return setDraft(null);
    if (await onSave(draft)) setDraft(null);
  };
  return (
    <input
      class="inline"
      aria-label={label}
      value={draft ?? value}
      placeholder={placeholder}
      onInput={(e) => setDraft(e.currentTarget.value)}
      onBlur={() => void save()}
      onKeyDown={(e) => {
        if (e.key === 'Enter') void save();
        if (e.key === 'Escape') setDraft(null);
      }}
    />
  );
}

function MemberRow({
  m,
  peer,
  nwid,
  now,
  onChange,
}: {
  m: Member;
  peer: Peer | undefined;
  nwid: string;
  now: number;
  onChange: () => void;
}) {
  const action = useAction();
  const post = (body: unknown, done: string) =>
    action.run(async () => {
      await apiPost(`/controller/network/${nwid}/member/${m.address}`, body);
      onChange();
    }, done);
  const online = peerOnline(peer);
  const lastSeen = m.recentLog[0]?.ts ?? 0;
  const who = m.name ? `${m.name} (${m.address})` : m.address;
  const remove = (): void => {
    if (confirm(`Delete member ${who}? It is de-authorized; it may ask to join again.`)) {
      void action.run(async () => {
        await apiDelete(`/controller/network/${nwid}/member/${m.address}`);
        onChange();
      });
    }
  };
  return (
    <tr data-member={m.address}>
      <td data-label="Authorized">
        <span class="switch">
          <input
            id={`auth-${m.address}`}
            type="checkbox"
            role="switch"
            checked={m.authorized}
            aria-busy={action.busy}
            onClick={(e) => {
              // not `disabled` while a change is under way: that would take the keyboard focus away
              if (action.busy) return e.preventDefault();
              void post({ authorized: !m.authorized }, m.authorized ? `${who} de-authorized` : `${who} authorized`);
            }}
          />
          <label for={`auth-${m.address}`}>
            Authorized<span class="visually-hidden"> {m.address}</span>
          </label>
        </span>
      </td>
      <td data-label="Address">
        <code>{m.address}</code>
      </td>
      <td data-label="Name">
        <InlineEdit
          value={m.name ?? ''}
          label={`Name of ${m.address}`}
          placeholder="name"
          onSave={(name) => post({ name }, `${m.address} renamed`)}
        />
      </td>
      <td data-label="IP assignments">
        <InlineEdit
          value={m.ipAssignments.join(', ')}
          label={`IP assignments of ${m.address}`}
          placeholder="none"
          onSave={(text) => {
            const ips = textToAddresses(text, 'IP assignments');
            if (typeof ips === 'string') return action.run(() => Promise.reject(new Error(ips)));
            return post({ ipAssignments: ips }, `addresses of ${m.address} saved`);
          }}
        />
      </td>
      <td data-label="Online">
        <Badge tone={online ? 'good' : 'neutral'}>{online ? 'online' : 'offline'}</Badge>
      </td>
      <td data-label="Last seen">{ago(lastSeen, now)}</td>
      <td data-label="Version">{versionText(m.vMajor, m.vMinor, m.vRev)}</td>
      <td data-label="Physical address">
        <code>{m.physicalAddr ?? (online ? peerPath(peer) : '—')}</code>
      </td>
      <td data-label="Actions">
        <button type="button" class="small danger" onClick={remove} disabled={action.busy} aria-label={`Delete member ${who}`}>
          Delete
        </button>
        {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
      </td>
    </tr>
  );
}

export function MembersSection({ nwid, network }: { nwid: string; network: ControllerNetwork | undefined }) {
  const view = usePoll(() => loadMembers(nwid), [nwid]);
  const members = view.data?.members ?? [];
  const authorized = members.filter((m) => m.authorized).length;
  return (
    <section aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <Freshness at={view.at} />
      <LoadError error={view.error} />
      {view.data && members.length === 0 && (
        <p>
          No member has asked to join yet. On a member: <code>ztnc-cli join {nwid}</code>
          {network?.private === false ? '' : ', then authorize it here'}.
        </p>
      )}
      {members.length > 0 && (
        <>
          <p>
            {authorized} of {members.length} authorized.
          </p>
          <table class="cards members">
            <caption class="visually-hidden">Members of network {nwid}</caption>
            <thead>
              <tr>
                <th scope="col">Authorized</th>
                <th scope="col">Address</th>
                <th scope="col">Name</th>
                <th scope="col">IP assignments</th>
                <th scope="col">Online</th>
                <th scope="col">Last seen</th>
                <th scope="col">Version</th>
                <th scope="col">Physical address</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <MemberRow key={m.address} m={m} peer={view.data?.peers.get(m.address)} nwid={nwid} now={view.at} onChange={view.reload} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
