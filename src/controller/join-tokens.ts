/**
 * Join tokens: secrets a network's controller issues so that a member presenting one in its config
 * request is authorized without an API call (the docker-test entrypoints, containers started from
 * images). Each token is 32 random bytes shown once as base64url; the store keeps only their
 * SHA-256, compared in constant time. A token admits up to `uses` members (0: any number) until
 * `expiresAt`, unless revoked, and gives the members it admits its IP assignments and tags.
 * Consumption is one conditional UPDATE inside the caller's transaction, so two controllers on one
 * database (or two requests) can never spend the same use twice.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ControllerStore } from './store.js';

/** Why a presented token admitted nobody (the counters' labels). */
export const TOKEN_REFUSALS = ['unknown', 'expired', 'used_up', 'revoked', 'wrong_network', 'member_deauthorized'] as const;
export type TokenRefusal = (typeof TOKEN_REFUSALS)[number];

/** What a token gives and allows, as created. */
export interface JoinTokenSettings {
  name: string;
  /** Members it may admit; 0: unlimited. */
  uses: number;
  /** ms since the epoch; null: never expires. */
  expiresAt: number | null;
  /** Static addresses given to the members it admits. */
  ipAssignments: string[];
  /** `[id, value]` tags given to the members it admits. */
  tags: [number, number][];
}

export interface JoinTokenRecord extends JoinTokenSettings {
  id: string;
  nwid: string;
  /** Admissions left; null when unlimited. */
  usesLeft: number | null;
  createdAt: number;
  revoked: boolean;
}

export type TokenCheck = { ok: true; token: JoinTokenRecord } | { ok: false; reason: TokenRefusal };

/** Tokens accepted and refused (by reason) since the controller started. */
export interface JoinTokenStats {
  accepted: number;
  refused: Record<TokenRefusal, number>;
}

/** Bytes of randomness in a token's secret. */
export const TOKEN_SECRET_BYTES = 32;
/** The base64url text of 32 bytes. */
const TOKEN_TEXT_RE = /^[A-Za-z0-9_-]{43}$/;

interface TokenRow {
  id: string;
  nwid: string;
  hash: string;
  doc: string;
  uses_left: number | null;
  revoked: number;
}

interface TokenDoc extends JoinTokenSettings {
  createdAt: number;
}

function hashOf(secret: Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

function recordFromRow(r: TokenRow): JoinTokenRecord {
  const doc = JSON.parse(r.doc) as TokenDoc;
  return {
    id: r.id,
    nwid: r.nwid,
    name: doc.name,
    uses: doc.uses,
    usesLeft: r.uses_left,
    expiresAt: doc.expiresAt,
    createdAt: doc.createdAt,
    ipAssignments: doc.ipAssignments,
    tags: doc.tags,
    revoked: r.revoked !== 0,
  };
}

export class JoinTokens {
  private readonly now: () => number;
  private readonly stats: JoinTokenStats = {
    accepted: 0,
    refused: Object.fromEntries(TOKEN_REFUSALS.map((r) => [r, 0])) as Record<TokenRefusal, number>,
  };

  constructor(
    private readonly store: ControllerStore,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  private get db() {
    return this.store.database;
  }

  /** Issues a token for a network; undefined when the network does not exist. The secret is only in the answer. */
  create(nwid: string, settings: JoinTokenSettings): { record: JoinTokenRecord; token: string } | undefined {
    const secret = randomBytes(TOKEN_SECRET_BYTES);
    const id = randomBytes(8).toString('hex');
    const doc: TokenDoc = { ...settings, createdAt: this.now() };
    const made = this.store.transaction(() => {
      if (!this.store.hasNetwork(nwid)) return false;
      this.db
        .prepare('INSERT INTO join_tokens (id, nwid, hash, doc, uses_left, revoked) VALUES (?, ?, ?, ?, ?, 0)')
        .run(id, nwid, hashOf(secret).toString('hex'), JSON.stringify(doc), settings.uses === 0 ? null : settings.uses);
      return true;
    });
    if (!made) return undefined;
    return { record: this.get(nwid, id)!, token: secret.toString('base64url') };
  }

  hasNetwork(nwid: string): boolean {
    return this.store.hasNetwork(nwid);
  }

  get(nwid: string, id: string): JoinTokenRecord | undefined {
    const row = this.db.prepare('SELECT * FROM join_tokens WHERE nwid = ? AND id = ?').get(nwid, id) as TokenRow | undefined;
    return row ? recordFromRow(row) : undefined;
  }

  /** A network's tokens, oldest first, revoked and spent ones included. */
  list(nwid: string): JoinTokenRecord[] {
    const rows = this.db.prepare('SELECT * FROM join_tokens WHERE nwid = ? ORDER BY rowid').all(nwid) as TokenRow[];
    return rows.map(recordFromRow);
  }

  /** Revokes a token (again is fine); undefined when the network has no such token. */
  revoke(nwid: string, id: string): JoinTokenRecord | undefined {
    this.db.prepare('UPDATE join_tokens SET revoked = 1 WHERE nwid = ? AND id = ?').run(nwid, id);
    return this.get(nwid, id);
  }

  /**
   * Checks a presented token for `nwid` and, when it admits, spends one use. Call inside the
   * transaction that authorizes the member, so a rollback gives the use back.
   */
  consume(nwid: string, presented: string): TokenCheck {
    if (!TOKEN_TEXT_RE.test(presented)) return { ok: false, reason: 'unknown' };
    const hash = hashOf(Buffer.from(presented, 'base64url'));
    const row = this.db.prepare('SELECT * FROM join_tokens WHERE hash = ?').get(hash.toString('hex')) as TokenRow | undefined;
    // the index finds the row; equality is still decided in constant time
    if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), hash)) return { ok: false, reason: 'unknown' };
    const token = recordFromRow(row);
    if (row.nwid !== nwid) return { ok: false, reason: 'wrong_network' };
    if (token.revoked) return { ok: false, reason: 'revoked' };
    if (token.expiresAt !== null && this.now() >= token.expiresAt) return { ok: false, reason: 'expired' };
    if (row.uses_left !== null) {
      const spent = this.db.prepare('UPDATE join_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0').run(row.id);
      if (spent.changes !== 1) return { ok: false, reason: 'used_up' };
      token.usesLeft = row.uses_left - 1;
    }
    return { ok: true, token };
  }

  /** Counts an outcome (after its transaction committed). */
  count(outcome: TokenCheck | TokenRefusal): void {
    if (typeof outcome === 'string') this.stats.refused[outcome]++;
    else if (outcome.ok) this.stats.accepted++;
    else this.stats.refused[outcome.reason]++;
  }

  /** A copy of the counts: tokens accepted, and refused by reason. */
  counts(): JoinTokenStats {
    return { accepted: this.stats.accepted, refused: { ...this.stats.refused } };
  }
}

/** A token as the API answers it (the secret only in the create answer). */
export function tokenJson(t: JoinTokenRecord, secret?: string): Record<string, unknown> {
  return {
    id: t.id,
    ...(secret !== undefined ? { token: secret } : {}),
    nwid: t.nwid,
    name: t.name,
    uses: t.uses,
    usesLeft: t.usesLeft,
    expiresAt: t.expiresAt,
    createdAt: t.createdAt,
    ipAssignments: t.ipAssignments,
    tags: t.tags,
    revoked: t.revoked,
  };
}
