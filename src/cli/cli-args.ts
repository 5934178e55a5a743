/**
 * ztnc-cli's command line (commander). Switches work as zerotier-cli's (`-D<home>`, `-p<port>`,
 * `-T<token>`, `-H<host>`, `-j`, anywhere on the line) and also with the value as the next word
 * (`-D home`) or in long form (`--home`, `--port`, …). The controller commands add `--name`,
 * `--pool`, `--private` and `--public`. `--` ends the switches. The words left are the command
 * and its arguments, dispatched by cli-commands.ts (raw `/paths` are commands too).
 */
import { Command, CommanderError } from 'commander';
import { CliError, parsePort } from './cli-client.js';
import { parsePingCount, parsePingTimeout } from './ping-command.js';

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
  /** `ping -c`. */
  count?: number;
  /** `ping --timeout` (ms per reply). */
  timeout?: number;
  /** The command and its arguments. */
  words: string[];
}

interface ParsedOptions {
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
  count?: number;
  timeout?: number;
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
    .option('-T, --token <token>', 'auth token', nonEmpty('-T'))
    .option('-H, --host <ip>', 'local API address', nonEmpty('-H'))
    .option('-j, --json', 'JSON output')
    .option('-h, --help', 'help')
    .option('-v, --version', 'version')
    .option('--name <name>', 'net create: network name')
    .option('--pool <cidr>', 'net create: managed route and address pool', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--private', 'net create: members need authorization')
    .option('--public', 'net create: anyone may join')
    .option('-c, --count <n>', 'ping: echo requests to send', parsePingCount)
    .option('--timeout <ms>', 'ping: time to wait for each reply', parsePingTimeout)
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
  return {
    home: o.home,
    port: o.port,
    token: o.token,
    host: o.host,
    json: o.json === true,
    help: o.help === true,
    version: o.version === true,
    name: o.name,
    pools: o.pool,
    private: o.private ? true : o.public ? false : undefined,
    count: o.count,
    timeout: o.timeout,
    words: [...(cmd.processedArgs[0] as string[])],
  };
}

export const CLI_USAGE = `Usage: ztnc-cli [-switches] <command/path> [<args>]

Switches (zerotier-cli style -D<home> or -D <home>):
  -h, --help               display this help
  -v, --version            show version
  -j, --json               display full raw JSON output
  -D, --home <path>        ztnc-service home (default ~/.ztnc, or $ZTNC_HOME)
  -p, --port <port>        local API port (default: <home>/ztnc.port, local.conf, 9993)
  -T, --token <token>      auth token (default: <home>/authtoken.secret)
  -H, --host <ip>          local API address (default 127.0.0.1)

Commands:
  info                          display status info
  listpeers                     list all peers
  peers                         list all peers (prettier)
  listnetworks                  list all networks
  join <network ID>             join a network
  leave <network ID>            leave a network
  set <network ID> <setting>=<value>
                                allowManaged, allowGlobal, allowDefault, allowDNS (1/0, true/false)
  get <network ID> <property>   a field of the network's JSON, or ip, ip4, ip6, ip6plane, ip6prefix
  ping <network ID> <address> [-c N] [--timeout MS]
                                ICMP echo from the daemon's stack on that network: N requests
                                (default 3, at most 100), each waiting up to MS for its reply
                                (default 2000); exits 1 when nothing answers
  listmoons                     list moons (federated root sets)
  orbit <world ID> <seed>       join a moon (when the daemon supports moons)
  deorbit <world ID>            leave a moon
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

Gateway commands (this daemon as a network's gateway member):
  gateway enable|disable|status <network ID>
  publish <network ID> tcp|udp [host-addr:]host-port <member-ip-or-name>:port
                                listen on the host and forward into the network; the member
                                sees the client's own address
  publish list [<network ID>]   published ports with their counters
  unpublish <network ID> tcp|udp [host-addr:]host-port
`;
