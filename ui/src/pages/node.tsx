/**
 * This node: its status (/status), the networks it has joined (/network), its peers (/peer) and a
 * glance at its metrics (/metrics; a daemon without them answers 404, said plainly). All live.
 */
import { apiGet, apiText } from '../api.js';
import { Badge, CopyButton, Freshness, LoadError } from '../components.js';
import { usePoll } from '../hooks.js';
import { ago, metricTotal, parseMetrics, peerOnline, peerPath } from '../net-setup.js';
import type { JoinedNetwork, NodeStatus, Peer } from '../types.js';

/** The families shown at a glance, with what they count (summed over their labels). */
const GLANCE: { name: string; label: string }[] = [
  { name: 'zt_num_networks', label: 'Networks joined' },
  { name: 'zt_peer_path_count', label: 'Peer paths' },
  { name: 'zt_packet', label: 'Packets' },
  { name: 'zt_packet_error', label: 'Packet errors' },
  { name: 'zt_data', label: 'Bytes' },
  { name: 'controller_network_count', label: 'Controller networks' },
  { name: 'controller_member_count', label: 'Controller members' },
];

/**
 * /status with the planet id's exact digits: a 64-bit id (stock's planet's is one) loses its low
 * digits as a JSON number, so it is read from the text as written.
 */
async function loadStatus(): Promise<NodeStatus & { planetId: string }> {
  const text = await apiText('/status');
  const planetId = /"planetWorldId"\s*:\s*(\d+)/.exec(text)?.[1] ?? '';
  return { ...(JSON.parse(text) as NodeStatus), planetId };
}

function StatusCard() {
  const st = usePoll(loadStatus, []);
  const s = st.data;
  return (
    <section aria-labelledby="status-h" class="card">
      <h2 id="status-h">Status</h2>
      <LoadError error={st.error} />
      {s && (
        <dl class="facts">
          <dt>Address</dt>
          <dd>
            <code>{s.address}</code> <CopyButton text={s.address} label="Copy the node address" />
          </dd>
          <dt>State</dt>
          <dd>
            <Badge tone={s.online ? 'good' : 'bad'}>{s.online ? 'online' : 'offline'}</Badge>
          </dd>
          <dt>Version</dt>
          <dd>{s.version}</dd>
          <dt>UDP port</dt>
          <dd>{s.config.settings.primaryPort}</dd>
          <dt>Listening on</dt>
          <dd>{s.config.settings.listeningOn.join(', ') || '—'}</dd>
          <dt>Planet</dt>
          <dd>
            <code>{s.planetId || String(s.planetWorldId)}</code>
          </dd>
        </dl>
      )}
    </section>
  );
}

function JoinedNetworks() {
  const nets = usePoll(() => apiGet<JoinedNetwork[]>('/network'), []);
  const list = nets.data ?? [];
  return (
    <section aria-labelledby="joined-h">
      <h2 id="joined-h">Networks this node has joined</h2>
      <LoadError error={nets.error} />
      {nets.data && list.length === 0 && <p>None.</p>}
      {list.length > 0 && (
        <table class="cards">
          <caption class="visually-hidden">Joined networks</caption>
          <thead>
            <tr>
              <th scope="col">Network</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Type</th>
              <th scope="col">Addresses</th>
            </tr>
          </thead>
          <tbody>
            {list.map((n) => (
              <tr key={n.id}>
                <td data-label="Network">
                  <code>{n.id}</code>
                </td>
                <td data-label="Name">{n.name || '—'}</td>
                <td data-label="Status">
                  <Badge tone={n.status === 'OK' ? 'good' : 'bad'}>{n.status}</Badge>
                </td>
                <td data-label="Type">{n.type}</td>
                <td data-label="Addresses">{n.assignedAddresses.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Peers() {
  const peers = usePoll(() => apiGet<Peer[]>('/peer'), []);
  const list = [...(peers.data ?? [])].sort((a, b) => a.role.localeCompare(b.role) || a.address.localeCompare(b.address));
  return (
    <section aria-labelledby="peers-h">
      <h2 id="peers-h">Peers</h2>
      <Freshness at={peers.at} />
      <LoadError error={peers.error} />
      {peers.data && list.length === 0 && <p>No peers known yet.</p>}
      {list.length > 0 && (
        <table class="cards">
          <caption class="visually-hidden">Peers of this node</caption>
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Role</th>
              <th scope="col">Online</th>
              <th scope="col">Latency</th>
              <th scope="col">Version</th>
              <th scope="col">Path</th>
              <th scope="col">Last heard</th>
            </tr>
          </thead>
          <tbody>
            {list.map((p) => {
              const last = Math.max(0, ...p.paths.map((x) => x.lastReceive));
              return (
                <tr key={p.address}>
                  <td data-label="Address">
                    <code>{p.address}</code>
                  </td>
                  <td data-label="Role">{p.role}</td>
                  <td data-label="Online">
                    <Badge tone={peerOnline(p) ? 'good' : 'neutral'}>{peerOnline(p) ? 'online' : 'offline'}</Badge>
                  </td>
                  <td data-label="Latency">{p.latency >= 0 ? `${p.latency} ms` : '—'}</td>
                  <td data-label="Version">{p.version.startsWith('-1') ? 'unknown' : p.version}</td>
                  <td data-label="Path">
                    <code>{peerPath(p)}</code>
                  </td>
                  <td data-label="Last heard">{ago(last, peers.at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Metrics() {
  const m = usePoll(async () => parseMetrics(await apiText('/metrics')), [], 10_000);
  const shown = m.data ? GLANCE.map((g) => ({ ...g, value: metricTotal(m.data!.samples, g.name) })).filter((g) => g.value !== null) : [];
  return (
    <section aria-labelledby="metrics-h" class="card">
      <h2 id="metrics-h">Metrics at a glance</h2>
      <LoadError error={m.error} missing="This daemon does not serve /metrics (a build without them)." />
      {m.data && shown.length === 0 && <p>No known families in /metrics.</p>}
      {shown.length > 0 && (
        <dl class="facts">
          {shown.map((g) => [
            <dt key={`${g.name}-t`}>
              {g.label} <code class="help">{g.name}</code>
            </dt>,
            <dd key={`${g.name}-d`}>{g.value!.toLocaleString()}</dd>,
          ])}
        </dl>
      )}
      {m.data && (
        <p class="help">
          {m.data.types.size} families; scrape <code>/metrics</code> with Prometheus for the rest.
        </p>
      )}
    </section>
  );
}

export function NodePage() {
  return (
    <>
      <h1>This node</h1>
      <div class="two">
        <StatusCard />
        <Metrics />
      </div>
      <JoinedNetworks />
      <Peers />
    </>
  );
}
