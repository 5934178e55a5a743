/**
 * ztnc-cli's command line (commander). Switches work as zerotier-cli's (`-D<home>`, `-p<port>`,
 * `-T<token>`, `-H<host>`, `-j`, anywhere on the line) and also with the value as the next word
 * (`-D home`) or in long form (`--home`, `--port`, …). The controller commands add `--name`,
 * `--pool`, `--private` and `--public`; `net token create` `--uses`, `--expires`, `--tags` and
 * `--ip`; the zone commands `--subnet`, `--gateway` and `--force`; `proxy add` `--tls-cert`,
 * `--tls-key`, `--names`, `--health`, `--health-interval`, `--upstream-file`, `--format`,
 * `--reload-pid` and `--reload-cmd`; `ping`, `listmoons`, `orbit` and `deorbit` `-e <endpoint>`.
 * `--token` is the auth token (as `-T`) except after `join`, where it is the join token. `--` ends the switches. The words left are the command
 * and its arguments, dispatched by cli-commands.ts (raw `/paths` are commands too).
 */
import { Command, CommanderError } from 'commander';
import { CliError, parsePort } from './cli-client.js';
import { parsePingCount, parsePingTimeout } from './ping-command.js';
import { parseUses } from './token-commands.js';
import type { ProxyCliOptions } from './proxy-commands.js';

export interface CliArgs {
  home?: string;
  port?: number;
  token?: string;
  host?: string;
  json: boolean;
  help: boolean;
  version: boolean;
  /** `net create` options. */
  name?: string;
  pools: string[];
  private?: boolean;
  /** `zone create --subnet`, `--gateway`; `zone destroy --force`. */
  subnet?: string;
  gateway?: string;
  force: boolean;
  /** `ping -c`. */
  count?: number;
  /** `ping --timeout` (ms per reply). */
  timeout?: number;
  /** `-e`: the endpoint `ping`, `listmoons`, `orbit` and `deorbit` act as (default: the daemon's own). */
  endpoint?: string;
  /** `join --token`: the join token to present. */
  joinToken?: string;
  /** `net token create` options. */
  uses?: number;
  expires?: string;
  tags: string[];
  ips: string[];
  /** `gateway enable` outbound options. */
  allowHostLoopback?: boolean;
  hostLoopbackAlias?: string;
  /** The command and its arguments. */
  words: string[];
  /** `proxy add` switches. */
  proxy: ProxyCliOptions;
}

/** What commander hands back: the shared switches and each command's own (`proxy add`'s as proxy-commands.ts declares them). */
interface ParsedOptions extends ProxyCliOptions {
  home?: string;
  port?: number;
  token?: string;
  host?: string;
  json?: boolean;
  help?: boolean;
  version?: boolean;
  name?: string;
  pool: string[];
  private?: boolean;
  public?: boolean;
  subnet?: string;
  gateway?: string;
  force?: boolean;
  count?: number;
  timeout?: number;
  endpoint?: string;
  authToken?: string;
  uses?: number;
  expires?: string;
  tags: string[];
  ip: string[];
  allowHostLoopback?: boolean;
  denyHostLoopback?: boolean;
  hostLoopbackAlias?: string;
}

function nonEmpty(flag: string): (v: string) => string {
  return (v) => {
    if (v.length === 0) throw new CliError(`${flag}: needs a value`, 2);
    return v;
  };
}

function parser(): Command {
  return new Command('ztnc-cli')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false)
    .option('-D, --home <path>', 'ztnc-service home', nonEmpty('-D'))
    .option('-p, --port <port>', 'local API port', (v: string) => parsePort(v, '-p'))
    .option('-T, --auth-token <token>', 'auth token', nonEmpty('-T'))
    .option('--token <token>', 'auth token; after join: the join token', nonEmpty('--token'))
    .option('-H, --host <ip>', 'local API address', nonEmpty('-H'))
    .option('-j, --json', 'JSON output')
    .option('-h, --help', 'help')
    .option('-v, --version', 'version')
    .option('--name <name>', 'net create: network name')
    .option('--pool <cidr>', 'net create: managed route and address pool', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--private', 'net create: members need authorization')
    .option('--public', 'net create: anyone may join')
    .option('--subnet <auto|cidr>', "zone create: the zone's subnet", nonEmpty('--subnet'))
    .option('--gateway <address|home>', 'zone create: the gateway member', nonEmpty('--gateway'))
    .option('--force', 'zone destroy: even with members')
    .option('-c, --count <n>', 'ping: echo requests to send', parsePingCount)
    .option('--timeout <ms>', 'ping: time to wait for each reply', parsePingTimeout)
    .option('-e, --endpoint <name>', 'ping, listmoons, orbit, deorbit: as this endpoint', nonEmpty('-e'))
    .option('--uses <n>', 'net token create: members it may admit (0: unlimited)', parseUses)
    .option('--expires <when>', 'net token create: seconds, 30m/12h/7d, or an ISO date')
    .option(
      '--tags <id=value,...>',
      'net token create: tags for the members it admits',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--ip <address>',
      'net token create: address for the member it admits',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--tls-cert <file>', 'proxy add: PEM certificate (HTTPS)', nonEmpty('--tls-cert'))
    .option('--tls-key <file>', 'proxy add: PEM key of the certificate', nonEmpty('--tls-key'))
    .option('--names <port>', 'proxy add: Host <name>.<domain> goes to member <name> on this port', nonEmpty('--names'))
    .option('--health <tcp|http[:/path]>', 'proxy add: health checks of the members', nonEmpty('--health'))
    .option('--health-interval <seconds>', 'proxy add: time between health checks', nonEmpty('--health-interval'))
    .option('--upstream-file <path>', 'proxy add: write an nginx/haproxy upstream file instead of serving', nonEmpty('--upstream-file'))
    .option('--format <nginx|haproxy>', 'proxy add --upstream-file: the file format', nonEmpty('--format'))
    .option('--reload-pid <pid>', 'proxy add --upstream-file: SIGHUP this pid after each change', nonEmpty('--reload-pid'))
    .option('--reload-cmd <command>', 'proxy add --upstream-file: run this command after each change', nonEmpty('--reload-cmd'))
    .option('--allow-host-loopback', "gateway enable: members' flows may reach the host's 127.0.0.0/8")
    .option('--deny-host-loopback', "gateway enable: members' flows never reach the host's loopback (the default)")
    .option(
      '--host-loopback-alias <address|off>',
      "gateway enable: this network address stands for the host's 127.0.0.1",
      nonEmpty('--host-loopback-alias'),
    )
    .argument('[words...]')
    .allowExcessArguments(true);
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  const cmd = parser();
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new CliError(`${e.message.replace(/^error: /, '')} (see ztnc-cli -h)`, 2);
    throw e;
  }
  const o = cmd.opts<ParsedOptions>();
  if (o.private && o.public) throw new CliError('--private and --public exclude each other', 2);
  if (o.allowHostLoopback && o.denyHostLoopback) throw new CliError('--allow-host-loopback and --deny-host-loopback exclude each other', 2);
  const words = [...(cmd.processedArgs[0] as string[])];
  // after `join` (and `endpoint join`), --token is the join token (`join <nwid> --token T`); -T stays the auth token
  const joinToken = words[0] === 'join' || (words[0] === 'endpoint' && words[1] === 'join') ? o.token : undefined;
  return {
    home: o.home,
    port: o.port,
    token: o.authToken ?? (joinToken === undefined ? o.token : undefined),
    joinToken,
    uses: o.uses,
    expires: o.expires,
    tags: o.tags,
    ips: o.ip,
    host: o.host,
    json: o.json === true,
    help: o.help === true,
    version: o.version === true,
    name: o.name,
    pools: o.pool,
    private: o.private ? true : o.public ? false : undefined,
    subnet: o.subnet,
    gateway: o.gateway,
    force: o.force === true,
    count: o.count,
    timeout: o.timeout,
    endpoint: o.endpoint,
    allowHostLoopback: o.allowHostLoopback ? true : o.denyHostLoopback ? false : undefined,
    hostLoopbackAlias: o.hostLoopbackAlias,
    words,
    proxy: {
      tlsCert: o.tlsCert,
      tlsKey: o.tlsKey,
      names: o.names,
      health: o.health,
      healthInterval: o.healthInterval,
      upstreamFile: o.upstreamFile,
      format: o.format,
      reloadPid: o.reloadPid,
      reloadCmd: o.reloadCmd,
    },
  };
}

export const CLI_USAGE = `Usage: ztnc-cli [-switches] <command/path> [<args>]

Switches (zerotier-cli style -D<home> or -D <home>):
  -h, --help               display this help
  -v, --version            show version
  -j, --json               display full raw JSON output
  -D, --home <path>        ztnc-service home (default ~/.ztnc, or $ZTNC_HOME)
  -p, --port <port>        local API port (default: <home>/ztnc.port, local.conf, 9993)
  -T, --token <token>      auth token (default: <home>/authtoken.secret); after join, --token is
                           the join token (then give the auth token with -T)
  -H, --host <ip>          local API address (default 127.0.0.1)

Commands:
  info                          display status info
  listpeers                     list all peers
  peers                         list all peers (prettier)
  listnetworks                  list all networks
  join <network ID> [--token <join token>]
                                join a network, presenting a join token to its controller
                                (kept in networks.d/<network ID>.conf as token=…)
  leave <network ID>            leave a network
  set <network ID> <setting>=<value>
                                allowManaged, allowGlobal, allowDefault, allowDNS (1/0, true/false)
  get <network ID> <property>   a field of the network's JSON, or ip, ip4, ip6, ip6plane, ip6prefix
  ping <network ID> <address> [-c N] [--timeout MS]
                                ICMP echo from the daemon's stack on that network (-e <endpoint>:
                                from that endpoint's): N requests (default 3, at most 100), each
                                waiting up to MS for its reply (default 2000); exits 1 when
                                nothing answers
  listmoons [-e <endpoint>]     list moons (federated root sets)
  orbit <world ID> <seed> [-e <endpoint>]
                                join a moon, fetched from its seed (one of its roots); kept in
                                <home>/moons.d/<world ID>.moon (an endpoint's: in its own directory,
                                <home>/endpoints/<endpoint>/moons.d)
  deorbit <world ID> [-e <endpoint>]
                                leave a moon
  /<path>                       GET any local API path and print its JSON
  GET|POST|PUT|DELETE /<path> [<json>]
                                any local API request, e.g. POST /controller/network '{"name":"x"}'

Controller commands (daemon started with --private-planet or controllerEnabled):
  net create [--name <name>] [--pool <CIDR>]... [--private|--public]
                                create a network under this controller; prints its id
  net list                      list the controller's networks
  net show <network ID>         a network and its members
  net authorize <network ID> <member address>
  net deauthorize <network ID> <member address>
  net delete <network ID>       delete a network (final)
  net default-route <network ID> <member address>|off
                                push 0.0.0.0/0 and ::/0 via that member's addresses (the
                                network's gateway) to every other member; off stops it
  net token create <network ID> [--uses N] [--expires <seconds|30m|12h|7d|ISO date>]
                   [--tags <id>=<value>,...] [--ip <address>]... [--name <name>]
                                issue a join token (default: one use, no expiry); prints it as
                                JSON: "token" is the secret, shown only here
  net token list <network ID>   the network's tokens (never their secrets)
  net token revoke <network ID> <token ID>
  zone create <name> [--subnet auto|<CIDR>] [--gateway <member address>|<home>]
                                a private network named zone:<name> on a subnet no other zone,
                                network or host route uses; the gateway gets the lowest address
                                and is the default route; prints the network id and how to
                                start containers in it
  zone destroy <name> [--force] de-authorize and remove the zone's members and network; refused
                                while members other than the gateway remain, unless --force
  zone list                     zones, subnets, gateways, members and published ports

Endpoint commands (many ZeroTier identities in one daemon; "default" is the daemon's own):
  endpoint create <name>        a new endpoint with its own identity; prints its address
  endpoint join <name> <network ID> [--token T]
                                the endpoint joins a network as its own member; programs reach
                                it with ZT_NC_ENDPOINT=<name> (or ztnc-intercept -e <name>)
  endpoint leave <name> <network ID>
  endpoint list                 endpoints, addresses, networks and assigned addresses (-j: JSON)
  endpoint delete <name>        leave its networks and remove its identity and files

Gateway commands (this daemon as a network's gateway member):
  gateway enable|disable|status <network ID>
  gateway enable <network ID> [--allow-host-loopback|--deny-host-loopback] [--host-loopback-alias <address>|off]
                                outbound options of this network's gateway (kept with the role):
                                members' flows may reach the host's loopback; the alias is an
                                address members reach the host's 127.0.0.1 at (needs the former)
  publish <network ID> tcp|udp [host-addr:]host-port <member-ip-or-name>:port
                                listen on the host and forward into the network; the member
                                sees the client's own address
  publish list [<network ID>]   published ports with their counters
  unpublish <network ID> tcp|udp [host-addr:]host-port
  proxy add <network ID> [host-addr:]host-port [--tls-cert <file> --tls-key <file>]
            [--names <port>] [--health tcp|http[:/path]] [--health-interval <seconds>]
                                a reverse proxy: HTTP (HTTPS with the certificate) on the host,
                                routed by Host header and path to members by name, following
                                joins, de-authorizations and address changes at each config
                                push; --names <port>: Host <name>.<domain> -> member <name>
  proxy add <network ID> --upstream-file <path> [--format nginx|haproxy]
            [--reload-pid <pid> | --reload-cmd "<command>"] [--names <port>] [--health ...]
                                instead of serving, keep an nginx upstream (haproxy backend)
                                file of the members and signal the server after each change
  proxy route <network ID> <proxy> <host>[/prefix] <member>:<port>
                                <proxy>: its [host-addr:]host-port or upstream file; <host>:
                                name, *.<domain> or *; <member>: a name, or a pattern whose *
                                is what the host's * matched (*.example.com -> *:80)
  proxy unroute <network ID> <proxy> <host>[/prefix]
  proxy list [<network ID>]     proxies, routes, counters and members' health
  proxy remove <network ID> <proxy>
`;
