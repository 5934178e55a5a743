/**
 * The controller's SQLite store (better-sqlite3, WAL). Each change is one transaction that also
 * advances the revision counters as stock controllers do: a network's `revision` on every
 * change to it, a member's `revision` on every change to it, and the network's
 * `memberRevisionCounter` on every member change. IP assignments are indexed per network so no
 * address is ever given to two members. The schema is versioned (PRAGMA user_version); a
 * database from a newer ztnc is refused rather than guessed at.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import {
  defaultMemberSettings,
  type MemberRecord,
  type MemberSettings,
  type NetworkConfigSource,
  type NetworkRecord,
  type NetworkSettings,
  type RecentLogEntry,
} from './types.js';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A member update tried to take an address another member holds. */
export class IpConflictError extends Error {
  constructor(
    readonly ip: string,
    readonly holder: string,
  ) {
    super(`${ip} is already assigned to member ${holder}`);
    this.name = 'IpConflictError';
  }
}

/**
 * One committed change. `created` (networks) and `wasAuthorized`/`authorized` (members, null when
 * the member did not exist before or does not after) let listeners count what stock's controller
 * counts: creations, deletions, authorizations, deauthorizations and other changes.
 */
export type StoreChange =
  | { kind: 'network'; nwid: string; deleted: boolean; created?: boolean }
  | { kind: 'member'; nwid: string; address: string; wasAuthorized?: boolean | null; authorized?: boolean | null };

export interface StoreOptions {
  logger?: Logger;
  /** Clock in ms since the epoch (injected for tests). */
  now?: () => number;
}

/** Bound on a member's kept request log, newest first. */
export const RECENT_LOG_LIMIT = 16;

type Migration = (db: Database.Database) => void;

const MIGRATIONS: readonly Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        revision INTEGER NOT NULL,
        member_revision_counter INTEGER NOT NULL,
        last_modified INTEGER NOT NULL
      );
      CREATE TABLE members (
        nwid TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
        address TEXT NOT NULL,
        doc TEXT NOT NULL,
        revision INTEGER NOT NULL,
        authorized INTEGER NOT NULL,
        active_bridge INTEGER NOT NULL,
        PRIMARY KEY (nwid, address)
      );
      CREATE INDEX members_bridges ON members (nwid) WHERE active_bridge = 1 AND authorized = 1;
      CREATE TABLE ip_assignments (
        nwid TEXT NOT NULL,
        ip TEXT NOT NULL,
        address TEXT NOT NULL,
        PRIMARY KEY (nwid, ip),
        FOREIGN KEY (nwid, address) REFERENCES members(nwid, address) ON DELETE CASCADE
      );
      CREATE INDEX ip_assignments_member ON ip_assignments (nwid, address);
      CREATE TABLE member_status (
        nwid TEXT NOT NULL,
        address TEXT NOT NULL,
        last_request_time INTEGER NOT NULL,
        physical_addr TEXT,
        recent_log TEXT NOT NULL,
        PRIMARY KEY (nwid, address),
        FOREIGN KEY (nwid, address) REFERENCES members(nwid, address) ON DELETE CASCADE
      );
    `);
  },
  (db) => {
    // join tokens (join-tokens.ts): only the SHA-256 of each secret is kept
    db.exec(`
      CREATE TABLE join_tokens (
        id TEXT PRIMARY KEY,
        nwid TEXT NOT NULL REFERENCES networks(id) ON DELETE CASCADE,
        hash TEXT NOT NULL UNIQUE,
        doc TEXT NOT NULL,
        uses_left INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX join_tokens_network ON join_tokens (nwid);
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

interface NetworkRow {
  id: string;
  doc: string;
  revision: number;
  member_revision_counter: number;
  last_modified: number;
}

interface MemberRow {
  doc: string;
  revision: number;
}

interface MemberJoinedRow extends MemberRow {
  last_request_time: number | null;
  physical_addr: string | null;
  recent_log: string | null;
}

const MEMBER_SELECT = `SELECT m.doc, m.revision, s.last_request_time, s.physical_addr, s.recent_log
  FROM members m LEFT JOIN member_status s ON s.nwid = m.nwid AND s.address = m.address`;

function memberFromRow(r: MemberJoinedRow): MemberRecord {
  return {
    ...(JSON.parse(r.doc) as MemberSettings),
    revision: r.revision,
    lastRequestTime: r.last_request_time ?? 0,
    physicalAddr: r.physical_addr,
    recentLog: r.recent_log ? (JSON.parse(r.recent_log) as RecentLogEntry[]) : [],
  };
}

/** Files holding the database's contents: owner-only, as the identity secret. */
export const DB_FILE_MODE = 0o600;

/**
 * Creates the database file 0600 before SQLite opens it (its WAL and SHM files take the
 * database's mode) and narrows existing ones — the database, WAL, SHM and backup — to 0600.
 */
function restrictModes(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', DB_FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}.backup`]) {
    try {
      chmodSync(f, DB_FILE_MODE);
    } catch {
      // not there
    }
  }
}

export class ControllerStore {
  readonly instanceId: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly listeners = new Set<(c: StoreChange) => void>();
  private backupRunning: Promise<void> | undefined;
  private closed = false;
  /** Prepared statements by SQL text: preparing costs more than most of the queries here. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    readonly file: string,
    private readonly opts: StoreOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    try {
      restrictModes(file);
      this.db = new Database(file);
    } catch (e) {
      throw new StoreError(`${file}: cannot open database (${(e as Error).message})`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
      this.migrate();
      this.instanceId = this.loadInstanceId();
    } catch (e) {
      this.db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${file}: ${(e as Error).message}`);
    }
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `${this.file}: schema version ${version} is newer than this ztnc understands (${SCHEMA_VERSION}); upgrade ztnc or use a matching backup`,
      );
    }
    for (let v = version; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v]!; // v < SCHEMA_VERSION = MIGRATIONS.length
      this.db.transaction(() => {
        step(this.db);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
      this.opts.logger?.info({ file: this.file, version: v + 1 }, 'controller database migrated');
    }
  }

  private loadInstanceId(): string {
    const row = this.stmt('SELECT value FROM meta WHERE key = ?').get('instanceId') as { value: string } | undefined;
    if (row) return row.value;
    const id = randomBytes(8).toString('hex');
    this.stmt('INSERT INTO meta (key, value) VALUES (?, ?)').run('instanceId', id);
    return id;
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  onChange(listener: (c: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: StoreChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (e) {
        this.opts.logger?.error({ err: e }, 'controller change listener failed');
      }
    }
  }

  // ---- networks ----

  listNetworkIds(): string[] {
    return (this.stmt('SELECT id FROM networks ORDER BY id').all() as { id: string }[]).map((r) => r.id);
  }

  hasNetwork(nwid: string): boolean {
    return this.stmt('SELECT 1 FROM networks WHERE id = ?').get(nwid) !== undefined;
  }

  getNetwork(nwid: string): NetworkRecord | undefined {
    const row = this.stmt('SELECT * FROM networks WHERE id = ?').get(nwid) as NetworkRow | undefined;
    return row ? this.networkFromRow(row) : undefined;
  }

  /**
   * A network's settings and revision without the member counts (which cost a pass over the
   * members): what answering a config request needs.
   */
  getNetworkSettings(nwid: string): NetworkConfigSource | undefined {
    const row = this.stmt('SELECT doc, revision FROM networks WHERE id = ?').get(nwid) as { doc: string; revision: number } | undefined;
    return row ? { ...(JSON.parse(row.doc) as NetworkSettings), revision: row.revision } : undefined;
  }

  private networkFromRow(row: NetworkRow): NetworkRecord {
    const counts = this.stmt('SELECT COUNT(*) AS total, COALESCE(SUM(authorized), 0) AS authorized FROM members WHERE nwid = ?').get(
      row.id,
    ) as { total: number; authorized: number };
    const settings = JSON.parse(row.doc) as NetworkSettings;
    return {
      ...settings,
      revision: row.revision,
      memberRevisionCounter: row.member_revision_counter,
      authorizedMemberCount: counts.authorized,
      totalMemberCount: counts.total,
      lastModified: row.last_modified,
    };
  }

  /**
   * Creates or changes a network in one transaction. `build` gets the current settings (or
   * undefined) and returns the new ones; an unchanged result leaves the revision alone.
   */
  putNetwork(nwid: string, build: (current: NetworkSettings | undefined) => NetworkSettings): NetworkRecord {
    const result = this.db.transaction(() => {
      const row = this.stmt('SELECT * FROM networks WHERE id = ?').get(nwid) as NetworkRow | undefined;
      const current = row ? (JSON.parse(row.doc) as NetworkSettings) : undefined;
      const next = build(current);
      const doc = JSON.stringify({ ...next, id: nwid });
      const now = this.now();
      if (!row) {
        this.stmt('INSERT INTO networks (id, doc, revision, member_revision_counter, last_modified) VALUES (?, ?, 1, 0, ?)').run(
          nwid,
          doc,
          now,
        );
        return 'created';
      }
      if (doc === row.doc) return false;
      this.stmt('UPDATE networks SET doc = ?, revision = revision + 1, last_modified = ? WHERE id = ?').run(doc, now, nwid);
      return 'changed';
    })();
    if (result) this.emit({ kind: 'network', nwid, deleted: false, created: result === 'created' });
    const rec = this.getNetwork(nwid);
    if (!rec) throw new StoreError(`network ${nwid} vanished during write`);
    return rec;
  }

  /**
   * Creates a network with a random free id under `prefix` (the controller's address), in one
   * transaction so two creations can never pick the same id. Undefined when none is free.
   */
  createNetworkWithRandomId(prefix: string, build: (id: string) => NetworkSettings): NetworkRecord | undefined {
    const id = this.db.transaction(() => {
      for (let i = 0; i < 100_000; i++) {
        let suffix = randomBytes(4).readUInt32BE(0) & 0xffffff;
        if (suffix === 0) suffix = 1;
        const candidate = prefix + suffix.toString(16).padStart(6, '0');
        if (this.stmt('SELECT 1 FROM networks WHERE id = ?').get(candidate) !== undefined) continue;
        const doc = JSON.stringify({ ...build(candidate), id: candidate });
        this.stmt('INSERT INTO networks (id, doc, revision, member_revision_counter, last_modified) VALUES (?, ?, 1, 0, ?)').run(
          candidate,
          doc,
          this.now(),
        );
        return candidate;
      }
      return undefined;
    })();
    if (id === undefined) return undefined;
    this.emit({ kind: 'network', nwid: id, deleted: false, created: true });
    return this.getNetwork(id);
  }

  /** Deletes a network and all its members. Returns what it was, or undefined if absent. */
  deleteNetwork(nwid: string): NetworkRecord | undefined {
    const before = this.db.transaction(() => {
      const rec = this.getNetwork(nwid);
      if (!rec) return undefined;
      this.stmt('DELETE FROM networks WHERE id = ?').run(nwid);
      return rec;
    })();
    if (before) this.emit({ kind: 'network', nwid, deleted: true });
    return before;
  }

  // ---- members ----

  /** `{address: revision}` for every member of a network. */
  memberRevisions(nwid: string): Record<string, number> {
    const rows = this.stmt('SELECT address, revision FROM members WHERE nwid = ? ORDER BY address').all(nwid) as {
      address: string;
      revision: number;
    }[];
    const out: Record<string, number> = {};
    for (const r of rows) out[r.address] = r.revision;
    return out;
  }

  listMembers(nwid: string): MemberRecord[] {
    const rows = this.stmt(`${MEMBER_SELECT} WHERE m.nwid = ? ORDER BY m.address`).all(nwid) as MemberJoinedRow[];
    return rows.map(memberFromRow);
  }

  getMember(nwid: string, address: string): MemberRecord | undefined {
    const row = this.stmt(`${MEMBER_SELECT} WHERE m.nwid = ? AND m.address = ?`).get(nwid, address) as MemberJoinedRow | undefined;
    return row ? memberFromRow(row) : undefined;
  }

  /** Deletes a member (its addresses are freed). Returns what it was, or undefined if absent. */
  deleteMember(nwid: string, address: string): MemberRecord | undefined {
    const before = this.db.transaction(() => {
      const m = this.getMember(nwid, address);
      if (!m) return undefined;
      this.stmt('DELETE FROM members WHERE nwid = ? AND address = ?').run(nwid, address);
      this.stmt('UPDATE networks SET member_revision_counter = member_revision_counter + 1, last_modified = ? WHERE id = ?').run(
        this.now(),
        nwid,
      );
      return m;
    })();
    if (before) this.emit({ kind: 'member', nwid, address, wasAuthorized: before.authorized, authorized: null });
    return before;
  }

  /** Addresses of the authorized active bridges of a network. */
  activeBridges(nwid: string): string[] {
    const rows = this.stmt(
      'SELECT address FROM members INDEXED BY members_bridges WHERE nwid = ? AND active_bridge = 1 AND authorized = 1',
    ).all(nwid) as { address: string }[];
    // sorted here: ORDER BY would lead SQLite to walk every member in key order instead of the bridge index
    return rows.map((r) => r.address).sort();
  }

  /** Members that sent a config request at or after `since` (ms). */
  membersRequestingSince(nwid: string, since: number): MemberRecord[] {
    const rows = this.stmt(`${MEMBER_SELECT} WHERE m.nwid = ? AND s.last_request_time >= ? ORDER BY m.address`).all(
      nwid,
      since,
    ) as MemberJoinedRow[];
    return rows.map(memberFromRow);
  }

  /** Every address held in a network, mapped to its holder. */
  assignedIps(nwid: string): Map<string, string> {
    const rows = this.stmt('SELECT ip, address FROM ip_assignments WHERE nwid = ?').all(nwid) as { ip: string; address: string }[];
    return new Map(rows.map((r) => [r.ip, r.address]));
  }

  isIpAssigned(nwid: string, ip: string): boolean {
    return this.stmt('SELECT 1 FROM ip_assignments WHERE nwid = ? AND ip = ?').get(nwid, ip) !== undefined;
  }

  /**
   * Creates or changes a member in one transaction (the network must exist). `update` edits a
   * copy of the current settings (defaults for a new member) and may read the store, e.g. to pick
   * a free address. Returns undefined when the network does not exist. Throws IpConflictError,
   * rolling back, when the result would share an address with another member.
   */
  updateMember(nwid: string, address: string, update: (m: MemberSettings, isNew: boolean) => void): MemberRecord | undefined {
    let wasAuthorized: boolean | null = null;
    let authorized = false;
    const changed = this.db.transaction((): boolean | undefined => {
      if (!this.hasNetwork(nwid)) return undefined;
      const row = this.stmt('SELECT doc, revision FROM members WHERE nwid = ? AND address = ?').get(nwid, address) as MemberRow | undefined;
      const current = row ? (JSON.parse(row.doc) as MemberSettings) : defaultMemberSettings(nwid, address, this.now());
      wasAuthorized = row ? current.authorized : null;
      update(current, !row);
      authorized = current.authorized;
      current.address = address;
      current.nwid = nwid;
      const doc = JSON.stringify(current);
      if (row && doc === row.doc) return false;
      if (row) {
        this.stmt(
          'UPDATE members SET doc = ?, revision = revision + 1, authorized = ?, active_bridge = ? WHERE nwid = ? AND address = ?',
        ).run(doc, current.authorized ? 1 : 0, current.activeBridge ? 1 : 0, nwid, address);
      } else {
        this.stmt('INSERT INTO members (nwid, address, doc, revision, authorized, active_bridge) VALUES (?, ?, ?, 1, ?, ?)').run(
          nwid,
          address,
          doc,
          current.authorized ? 1 : 0,
          current.activeBridge ? 1 : 0,
        );
      }
      this.syncIps(nwid, address, current.ipAssignments);
      this.stmt('UPDATE networks SET member_revision_counter = member_revision_counter + 1, last_modified = ? WHERE id = ?').run(
        this.now(),
        nwid,
      );
      return true;
    })();
    if (changed === undefined) return undefined;
    if (changed) this.emit({ kind: 'member', nwid, address, wasAuthorized, authorized });
    return this.getMember(nwid, address);
  }

  private syncIps(nwid: string, address: string, ips: string[]): void {
    this.stmt('DELETE FROM ip_assignments WHERE nwid = ? AND address = ?').run(nwid, address);
    const holder = this.stmt('SELECT address FROM ip_assignments WHERE nwid = ? AND ip = ?');
    const insert = this.stmt('INSERT OR IGNORE INTO ip_assignments (nwid, ip, address) VALUES (?, ?, ?)');
    for (const ip of ips) {
      const h = holder.get(nwid, ip) as { address: string } | undefined;
      if (h && h.address !== address) throw new IpConflictError(ip, h.address);
      insert.run(nwid, ip, address);
    }
  }

  /** Records a config request from an existing member: time, address, bounded recent log. */
  recordRequest(nwid: string, address: string, entry: RecentLogEntry): void {
    this.db.transaction(() => {
      const row = this.stmt('SELECT recent_log FROM member_status WHERE nwid = ? AND address = ?').get(nwid, address) as
        { recent_log: string } | undefined;
      const log = row ? (JSON.parse(row.recent_log) as RecentLogEntry[]) : [];
      const next = JSON.stringify([entry, ...log].slice(0, RECENT_LOG_LIMIT));
      this.stmt(
        `INSERT INTO member_status (nwid, address, last_request_time, physical_addr, recent_log) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (nwid, address) DO UPDATE SET last_request_time = excluded.last_request_time,
             physical_addr = excluded.physical_addr, recent_log = excluded.recent_log`,
      ).run(nwid, address, entry.ts, entry.fromAddr, next);
    })();
  }

  /** The database, for modules that keep their own tables in it (join-tokens.ts). */
  get database(): Database.Database {
    return this.db;
  }

  /**
   * Runs `fn` as one transaction (nested store calls join it). It takes the write lock at once
   * (BEGIN IMMEDIATE): a transaction that reads first and writes later cannot wait for another
   * connection's write lock (SQLite answers SQLITE_BUSY at the upgrade), but one that starts as a
   * writer waits its turn (busy_timeout), so a second process on the database only queues.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---- backup ----

  /**
   * Writes a consistent copy to `<file>.backup` with SQLite's online backup API, via a
   * temporary file renamed into place so the backup path always holds a complete database.
   */
  async backup(target = `${this.file}.backup`): Promise<void> {
    if (this.backupRunning) return this.backupRunning;
    const tmp = `${target}.tmp`;
    this.backupRunning = (async () => {
      try {
        rmSync(tmp, { force: true });
        // made 0600 first so the copy is never readable by others, even while written
        closeSync(openSync(tmp, 'wx', DB_FILE_MODE));
        await this.db.backup(tmp);
        chmodSync(tmp, DB_FILE_MODE);
        renameSync(tmp, target);
      } finally {
        rmSync(tmp, { force: true });
        this.backupRunning = undefined;
      }
    })();
    return this.backupRunning;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.backupRunning) await this.backupRunning.catch(() => undefined);
    this.listeners.clear();
    this.db.close();
  }
}
