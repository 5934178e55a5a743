/**
 * ztnc-cli's gateway commands refuse bad arguments before looking for a daemon, with exit status 2
 * and one line naming what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli-commands.js';
import { tempDir } from '../support/temp-dir.js';

const NWID = '8056c2e21c000001';

async function cli(...argv: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await runCli(
    ['-D', tempDir('ztnc-gw-cli-'), ...argv],
    () => {},
    (l) => err.push(l),
  );
  return { code, err };
}

describe('ztnc-cli gateway commands: bad arguments', () => {
  it.each([
    [['gateway', 'on', NWID], /usage: ztnc-cli gateway enable\|disable\|status/],
    [['gateway', 'enable', 'xyz'], /invalid network id "xyz"/],
    [['publish', NWID, 'sctp', '80', '10.1.2.3:80'], /publish: protocol: "sctp" is neither tcp nor udp/],
    [['publish', NWID, 'tcp', '0', '10.1.2.3:80'], /publish: host port: 0 is not a port number/],
    [['publish', NWID, 'tcp', 'host:80', '10.1.2.3:80'], /publish: host address: "host" is not an IPv4 address/],
    [['publish', NWID, 'tcp', '80', '10.1.2.3'], /publish: target: "10.1.2.3" must be <member address or name>:<port>/],
    [['publish', NWID, 'tcp', '80', 'bad_name:80'], /target: "bad_name" is neither an IPv4 address nor a member name/],
    [['publish', NWID, 'tcp', '80'], /usage: ztnc-cli publish/],
    [['unpublish', NWID, 'tcp'], /usage: ztnc-cli unpublish/],
    [['unpublish', NWID, 'icmp', '80'], /unpublish: protocol: "icmp"/],
  ])('%j', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(message);
  });
});
