/**
 * ztnc-idtool: zerotier-idtool's commands over the project's identities and worlds, with its file
 * formats and messages (identity strings `addr:0:pub[:priv]`, 96-byte signatures in hex, world
 * definition JSON) plus `initplanet`/`genplanet` for private planets. Identities are given as the
 * string itself or as a file holding it, as stock accepts.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { Identity, WorldType } from '../node/index.js';
import { buildWorld, initWorldJson, parseStableEndpoint, WorldJsonError } from './world-json.js';
import { jsonDump } from './zerotier-cli-format.js';

export type Output = (line: string) => void;

export const IDTOOL_USAGE = `Usage: ztnc-idtool <command> [<args>]

Commands:
  generate [<identity.secret>] [<identity.public>]
  validate <identity.secret/public>
  getpublic <identity.secret>
  sign <identity.secret> <file>
  verify <identity.secret/public> <file> <signature>
  initmoon <identity.public of first seed> [<ip/port>...]
  genmoon <moon json>
  initplanet <identity.public of the root> <ip/port>...
  genplanet <planet json> [<output file, default ./planet>]

Identities may be given as the identity string itself or as a file holding it.
Signatures are hex, given on the command line or in a file.
initplanet/genplanet make a private planet: ztnc-service --planet <file> uses it.`;

class IdtoolError extends Error {}

/** Like stock: an argument longer than 32 characters with ':' at [10] is a literal identity. */
function identityArg(arg: string): Identity | null {
  let text: string;
  if (arg.length > 32 && arg[10] === ':') text = arg;
  else {
    try {
      text = readFileSync(arg, 'utf8');
    } catch {
      return null;
    }
  }
  return Identity.tryFromString(text);
}

function needIdentity(arg: string): Identity {
  const id = identityArg(arg);
  if (!id) throw new IdtoolError(`Identity argument invalid or file unreadable: ${arg}`);
  return id;
}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new IdtoolError(`${file} is not readable`);
  }
}

function writeOut(file: string, text: string | Buffer, mode: number): void {
  try {
    writeFileSync(file, text, { mode });
    chmodSync(file, mode);
  } catch {
    throw new IdtoolError(`Error writing to ${file}`);
  }
}

function signatureBytes(text: string): Buffer | null {
  const t = text.trim();
  return /^[0-9a-f]+$/i.test(t) && t.length % 2 === 0 ? Buffer.from(t, 'hex') : null;
}

function worldFile(arg: string): string {
  try {
    return readFileSync(arg, 'utf8');
  } catch {
    throw new IdtoolError(`cannot read ${arg}`);
  }
}

function genWorld(arg: string, expect: 'moon' | 'planet' | null, output: (id: bigint) => string, cwd: string, out: Output): void {
  let built;
  try {
    built = buildWorld(worldFile(arg));
  } catch (e) {
    if (e instanceof WorldJsonError) throw new IdtoolError(`${arg}: ${e.message}`);
    throw e;
  }
  const { world, serialized } = built;
  if (expect === 'planet' && world.type !== WorldType.PLANET)
    throw new IdtoolError(`${arg}: "worldType" is not "planet" (use genmoon for moons)`);
  const file = output(world.id);
  writeOut(resolve(cwd, file), serialized, 0o644);
  out(`wrote ${file} (signed world with timestamp ${world.timestamp})`);
}

function initWorld(type: 'moon' | 'planet', identity: string, endpointTexts: string[], out: Output): void {
  const id = identityArg(identity);
  if (!id) throw new IdtoolError(`${identity} is not a valid identity`);
  let endpoints;
  try {
    endpoints = endpointTexts.map(parseStableEndpoint);
  } catch (e) {
    throw new IdtoolError((e as Error).message);
  }
  if (type === 'planet' && endpoints.length === 0)
    throw new IdtoolError("initplanet: give the root's stable endpoints (ip/port), e.g. 127.0.0.1/9993");
  out(jsonDump(initWorldJson(type, id.publicOnly(), endpoints)));
}

/** The commands; a missing, unknown or extra argument is stock's usage and exit 1. */
function program(out: Output, cwd: string): Command {
  const cmd = new Command('ztnc-idtool')
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .helpOption(false);
  const sub = (name: string): Command => cmd.command(name).helpOption(false).exitOverride();
  sub('generate')
    .argument('[secret]')
    .argument('[public]')
    .action(async (secretFile?: string, publicFile?: string) => {
      const id = await Identity.generate();
      if (secretFile === undefined) {
        out(id.toString(true));
        return;
      }
      writeOut(resolve(cwd, secretFile), id.toString(true), 0o600);
      out(`${secretFile} written`);
      if (publicFile !== undefined) {
        writeOut(resolve(cwd, publicFile), id.toString(false), 0o644);
        out(`${publicFile} written`);
      }
    });
  sub('validate')
    .argument('<identity>')
    .action((arg: string) => {
      const id = needIdentity(arg);
      // Beyond stock: a private key must also produce the public key.
      if (!id.locallyValidateSync()) throw new IdtoolError(`${arg} FAILED validation.`);
      out(`${arg} is a valid identity`);
    });
  sub('getpublic')
    .argument('<identity>')
    .action((arg: string) => out(needIdentity(arg).toString(false)));
  sub('sign')
    .argument('<identity>')
    .argument('<file>')
    .action((arg: string, file: string) => {
      const id = needIdentity(arg);
      if (!id.hasPrivate) throw new IdtoolError(`${arg} does not contain a private key (must use private to sign)`);
      out(id.sign(readInput(file)).toString('hex'));
    });
  sub('verify')
    .argument('<identity>')
    .argument('<file>')
    .argument('<signature>')
    .action((arg: string, file: string, signature: string) => {
      const id = needIdentity(arg);
      const message = readInput(file);
      // Hex on the command line, else a file holding it, as stock tries both.
      let sig = signatureBytes(signature);
      if (!sig) {
        try {
          sig = signatureBytes(readFileSync(signature, 'utf8'));
        } catch {
          sig = null;
        }
      }
      if (!sig || !id.verify(message, sig)) throw new IdtoolError(`${file} signature check FAILED`);
      out(`${file} signature valid`);
    });
  sub('initmoon')
    .argument('<identity>')
    .argument('[endpoints...]')
    .action((arg: string, endpoints: string[]) => initWorld('moon', arg, endpoints, out));
  sub('initplanet')
    .argument('<identity>')
    .argument('[endpoints...]')
    .action((arg: string, endpoints: string[]) => initWorld('planet', arg, endpoints, out));
  sub('genmoon')
    .argument('<json>')
    .action((arg: string) => genWorld(arg, null, (id) => `${id.toString(16).padStart(16, '0')}.moon`, cwd, out));
  sub('genplanet')
    .argument('<json>')
    .argument('[output]')
    .action((arg: string, output?: string) => genWorld(arg, 'planet', () => output ?? 'planet', cwd, out));
  return cmd;
}

async function run(argv: readonly string[], out: Output, cwd: string): Promise<number> {
  if (argv.length === 1 && ['-h', '--help', 'help'].includes(argv[0]!)) {
    out(IDTOOL_USAGE);
    return 0;
  }
  try {
    await program(out, cwd).parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    out(IDTOOL_USAGE);
    return 1;
  }
  return 0;
}

/** Runs ztnc-idtool with `argv` (without node and script); returns the exit code. */
export async function runIdtool(argv: readonly string[], out: Output, err: Output, cwd = process.cwd()): Promise<number> {
  try {
    return await run(argv, out, cwd);
  } catch (e) {
    if (e instanceof IdtoolError) {
      err(e.message);
      return 1;
    }
    err(`ztnc-idtool: ${(e as Error).message}`);
    return 1;
  }
}
