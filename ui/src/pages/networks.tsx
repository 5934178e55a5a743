/**
 * The controller's networks: a table of them (live) and the form that creates one, with the easy
 * setup's /24 filling its IPv4 pool and managed route.
 */
import { useState } from 'preact/hooks';
import { apiGet, apiPost, isMissingRoute, preferRoute } from '../api.js';
import { Badge, Freshness, LoadError, Notice } from '../components.js';
import { useAction, usePoll } from '../hooks.js';
import { EASY_RANGES, easySetup, freeRange } from '../net-setup.js';
import type { ControllerNetwork } from '../types.js';

/** Every network: in one request where the daemon serves stock's `/unstable` list, else one each. */
async function loadNetworks(): Promise<ControllerNetwork[]> {
  const nets = await preferRoute(
    'unstable-networks',
    async () => (await apiGet<{ data: ControllerNetwork[] }>('/unstable/controller/network')).data,
    async () => {
      const ids = await apiGet<string[]>('/controller/network');
      const all = await Promise.all(ids.map((id) => apiGet<ControllerNetwork>(`/controller/network/${id}`).catch(() => null)));
      return all.filter((n): n is ControllerNetwork => n !== null);
    },
  );
  return nets.sort((a, b) => a.creationTime - b.creationTime);
}

function CreateNetwork({ suggested, onCreated }: { suggested: string; onCreated: (id: string) => void }) {
  const [name, setName] = useState('');
  const [range, setRange] = useState<string | null>(null);
  const [isPrivate, setPrivate] = useState(true);
  const action = useAction();
  const chosen = range ?? suggested;
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const body: Record<string, unknown> = { name: name.trim(), private: isPrivate };
    if (chosen !== '') {
      const setup = easySetup(chosen);
      if (!setup) return void action.run(() => Promise.reject(new Error(`${chosen} is not a /24`)));
      Object.assign(body, { v4AssignMode: { zt: true }, ipAssignmentPools: [setup.pool], routes: [setup.route] });
    }
    let id = '';
    const ok = await action.run(async () => {
      id = (await apiPost<ControllerNetwork>('/controller/network', body)).id;
    });
    if (ok) {
      setName('');
      setRange(null);
      onCreated(id);
    }
  };
  return (
    <section aria-labelledby="create-h" class="card">
      <h2 id="create-h">Create a network</h2>
      <form onSubmit={(e) => void submit(e)} class="grid-form">
        <label for="new-name">Name</label>
        <input id="new-name" value={name} maxLength={127} onInput={(e) => setName(e.currentTarget.value)} placeholder="my-network" />
        <label for="new-range">IPv4 range (easy setup)</label>
        <select id="new-range" value={chosen} onChange={(e) => setRange(e.currentTarget.value)} aria-describedby="new-range-help">
          {EASY_RANGES.map((r) => (
            <option value={r} key={r}>
              {r}
            </option>
          ))}
          <option value="">none (no IPv4 addresses)</option>
        </select>
        <p id="new-range-help" class="help span">
          Members get addresses .1 to .254 of the range, with a managed route for it.
        </p>
        <span class="span checkbox">
          <input id="new-private" type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.currentTarget.checked)} />
          <label for="new-private">Private: members must be authorized</label>
        </span>
        <button type="submit" disabled={action.busy} class="span">
          Create network
        </button>
      </form>
      {action.message && <Notice ok={action.message.ok}>{action.message.text}</Notice>}
    </section>
  );
}

export function NetworksPage() {
  const nets = usePoll(loadNetworks, []);
  if (isMissingRoute(nets.error)) {
    return (
      <>
        <h1>Networks</h1>
        <p class="notice info">
          This daemon runs no network controller (start it with <code>--private-planet</code> or <code>controllerEnabled</code> in{' '}
          <code>local.conf</code>). See <a href="#/node">this node</a> for its status and peers.
        </p>
      </>
    );
  }
  const list = nets.data ?? [];
  return (
    <>
      <h1>Networks</h1>
      <Freshness at={nets.at} />
      <LoadError error={nets.error} />
      {nets.data && list.length === 0 && <p>No networks yet: create one below.</p>}
      {list.length > 0 && (
        <table class="cards">
          <caption class="visually-hidden">Networks of this controller</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Network id</th>
              <th scope="col">Access</th>
              <th scope="col">IPv4 routes</th>
              <th scope="col">Members</th>
            </tr>
          </thead>
          <tbody>
            {list.map((n) => (
              <tr key={n.id}>
                <td data-label="Name">
                  <a href={`#/network/${n.id}`}>{n.name || '(unnamed)'}</a>
                </td>
                <td data-label="Network id">
                  <code>{n.id}</code>
                </td>
                <td data-label="Access">
                  <Badge tone={n.private ? 'neutral' : 'bad'}>{n.private ? 'private' : 'public'}</Badge>
                </td>
                <td data-label="IPv4 routes">{n.routes.map((r) => r.target).join(', ') || '—'}</td>
                <td data-label="Members">
                  {n.authorizedMemberCount} authorized of {n.totalMemberCount}; {n.activeMemberCount} active
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateNetwork
        suggested={freeRange(list.flatMap((n) => n.routes))}
        onCreated={(id) => {
          location.hash = `#/network/${id}`;
        }}
      />
    </>
  );
}
