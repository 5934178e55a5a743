/**
 * The daemon's home directory: where each file lives, creation with safe modes, the single-
 * instance pid file, and the networks.d join list. Every problem names the file it is about.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NWID_PATTERN = /^[0-9a-f]{16}$/;

export class HomeError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'HomeError';
  }
}

export function defaultHome(): string {
  return join(homedir(), '.ztnc');
}

export class Home {
  constructor(readonly dir: string) {}

  get identitySecret(): string {
    return join(this.dir, 'identity.secret');
  }
  get identityPublic(): string {
    return join(this.dir, 'identity.public');
  }
  get authToken(): string {
    return join(this.dir, 'authtoken.secret');
  }
  get planet(): string {
    return join(this.dir, 'planet');
  }
  get moonsDir(): string {
    return join(this.dir, 'moons.d');
  }
  get networksDir(): string {
    return join(this.dir, 'networks.d');
  }
  get localConf(): string {
    return join(this.dir, 'local.conf');
  }
  get pidFile(): string {
    return join(this.dir, 'ztnc.pid');
  }
  /** The local API's actual TCP port, written once it listens (stock: zerotier-one.port). */
  get portFile(): string {
    return join(this.dir, 'ztnc.port');
  }
  /** The same port under stock's name, where stock zerotier-cli -D<home> looks for it. */
  get stockPortFile(): string {
    return join(this.dir, 'zerotier-one.port');
  }
  get logFile(): string {
    return join(this.dir, 'ztnc.log');
  }
  get controllerDb(): string {
    return join(this.dir, 'controller.db');
  }
  /** Directory of the per-network RPC sockets (mode 0700: only the user can enter). */
  get socketsDir(): string {
    return join(this.dir, 'sockets');
  }
  /** Endpoints beside the home's own identity: one directory each, laid out as a home. */
  get endpointsDir(): string {
    return join(this.dir, 'endpoints');
  }
  endpointDir(name: string): string {
    return join(this.endpointsDir, name);
  }
  networkConf(nwid: string): string {
    return join(this.networksDir, `${nwid}.conf`);
  }

  /** Creates the home (0700) and its subdirectories. */
  ensure(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      if (!statSync(this.dir).isDirectory()) throw new HomeError(this.dir, 'is not a directory');
      for (const d of [this.networksDir, this.moonsDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
      mkdirSync(this.socketsDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      if (e instanceof HomeError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new HomeError(err.path ?? this.dir, `cannot be created (${err.code ?? err.message})`);
    }
  }

  /**
   * The home's permission bits when group or others may read, write or enter it (its secrets are
   * 0600, but the other files — controller.db backups, logs, networks.d — are not all secrets'
   * modes everywhere); null when it is owner-only, as ztnc creates it.
   */
  looseMode(): number | null {
    try {
      const mode = statSync(this.dir).mode & 0o777;
      return (mode & 0o077) !== 0 ? mode : null;
    } catch {
      return null;
    }
  }

  /**
   * Networks to join at start: every `networks.d/<16 hex digits>.conf`. Files with other names are
   * reported through `onBadName` and skipped; so are entries that are not regular files (a FIFO
   * would block the read of its settings for ever), through `onNotAFile`.
   */
  joinedNetworks(onBadName: (file: string) => void = () => {}, onNotAFile: (file: string) => void = () => {}): string[] {
    let names: string[];
    try {
      names = readdirSync(this.networksDir);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names.sort()) {
      if (!n.endsWith('.conf')) continue;
      const nwid = n.slice(0, -5).toLowerCase();
      const file = join(this.networksDir, n);
      if (!NWID_PATTERN.test(nwid)) onBadName(file);
      else if (!isRegularFile(file)) onNotAFile(file);
      else out.push(nwid);
    }
    return out;
  }

  /**
   * Takes the single-instance lock: writes our pid to ztnc.pid, created exclusively. A pid file
   * whose process is gone is stale and replaced; a live one means another daemon owns this home.
   */
  acquirePidFile(pid = process.pid): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.pidFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
        writeSync(fd, `${pid}\n`);
        closeSync(fd);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new HomeError(this.pidFile, `cannot be written (${(e as NodeJS.ErrnoException).code})`);
        }
        const other = this.readPid();
        if (other !== null && other !== pid && processAlive(other)) {
          throw new HomeError(this.pidFile, `another ztnc-service (pid ${other}) is already running on this home`);
        }
        try {
          unlinkSync(this.pidFile);
        } catch {
          /* raced with another starter: retry decides */
        }
      }
    }
    throw new HomeError(this.pidFile, 'could not be taken (another daemon is starting on this home)');
  }

  readPid(): number | null {
    try {
      const n = Number.parseInt(readFileSync(this.pidFile, 'utf8').trim(), 10);
      return Number.isInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  }

  /** Removes the pid file if it is still ours. */
  releasePidFile(pid = process.pid): void {
    if (this.readPid() === pid && existsSync(this.pidFile)) {
      try {
        unlinkSync(this.pidFile);
      } catch {
        /* already gone */
      }
    }
  }
}

/** True for a regular file (through symlinks); false for FIFOs, sockets, devices, directories. */
export function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
