/**
 * The node's identity on disk, as stock ZeroTier keeps it in its home directory:
 * `identity.secret` (string form with the private key, mode 0600) and `identity.public`.
 * Files are replaced atomically (write to a temporary file, then rename) so a crash never leaves
 * half an identity behind.
 */
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Identity, IdentityFormatError } from './identity.js';

export const IDENTITY_SECRET_FILE = 'identity.secret';
export const IDENTITY_PUBLIC_FILE = 'identity.public';

/** Thrown when an identity file exists but cannot be used; the message names the file and why. */
export class IdentityFileError extends Error {
  override readonly name = 'IdentityFileError';
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode); // the umask may have narrowed or the file pre-existed
  await rename(tmp, path);
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new IdentityFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Reads and parses an identity file (public or secret). Returns null when it does not exist. */
export async function readIdentityFile(path: string): Promise<Identity | null> {
  const text = await readText(path);
  if (text === null) return null;
  try {
    return Identity.fromString(text);
  } catch (e) {
    if (e instanceof IdentityFormatError) throw new IdentityFileError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Writes identity.secret (0600) and identity.public into dir. */
export async function writeIdentityFiles(dir: string, identity: Identity): Promise<void> {
  if (!identity.hasPrivate) throw new IdentityFileError('cannot write identity.secret for an identity without a private key');
  await writeAtomic(join(dir, IDENTITY_SECRET_FILE), `${identity.toString(true)}\n`, 0o600);
  await writeAtomic(join(dir, IDENTITY_PUBLIC_FILE), `${identity.toString(false)}\n`, 0o644);
}

/**
 * The node identity in dir: loaded from identity.secret when present (it must hold a private key
 * that validates), otherwise generated and written. identity.public is rewritten when missing or
 * different, and identity.secret's mode is tightened to 0600 if it was looser.
 */
export async function loadOrCreateIdentity(dir: string): Promise<{ identity: Identity; created: boolean }> {
  const secretPath = join(dir, IDENTITY_SECRET_FILE);
  const existing = await readIdentityFile(secretPath);
  if (existing === null) {
    const identity = await Identity.generate();
    await writeIdentityFiles(dir, identity);
    return { identity, created: true };
  }
  if (!existing.hasPrivate) throw new IdentityFileError(`${secretPath}: no private key`);
  if (!(await existing.locallyValidate())) {
    throw new IdentityFileError(`${secretPath}: identity ${existing.addressHex} fails validation`);
  }
  const mode = (await stat(secretPath)).mode & 0o777;
  if ((mode & 0o077) !== 0) await chmod(secretPath, 0o600);
  const publicPath = join(dir, IDENTITY_PUBLIC_FILE);
  const publicText = await readText(publicPath);
  if (publicText === null || publicText.trim() !== existing.toString(false)) {
    await writeAtomic(publicPath, `${existing.toString(false)}\n`, 0o644);
  }
  return { identity: existing, created: false };
}
