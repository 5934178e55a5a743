/**
 * The network controller assembled: store (controller.db), JSON API routes and the node-facing
 * backend, with backups to controller.db.backup at start and after changes (backup-schedule.ts).
 */
import type { Logger } from 'pino';
import type { Router } from '../service/http/router.js';
import { ControllerApi } from './api.js';
import { ControllerBackend } from './backend.js';
import { BackupSchedule, DEFAULT_BACKUP_EVERY_CHANGES, DEFAULT_BACKUP_INTERVAL_MS } from './backup-schedule.js';
import { ControllerStore } from './store.js';
import { JoinTokens, type JoinTokenStats } from './join-tokens.js';
import { mountTokenApi } from './token-api.js';

export interface ControllerOptions {
  /** Path of controller.db. */
  dbFile: string;
  /** This node's 10-digit hex address. */
  nodeAddress: string;
  logger?: Logger;
  now?: () => number;
  /**
   * controller.db.backup is written at start, then this long after the last backup when anything
   * changed since; 0 turns automatic backups off entirely. Default 60 s.
   */
  backupIntervalMs?: number;
  /** ... or after this many changes, whichever comes first; 0: no count trigger. Default 100. */
  backupEveryChanges?: number;
}

export { DEFAULT_BACKUP_EVERY_CHANGES, DEFAULT_BACKUP_INTERVAL_MS } from './backup-schedule.js';

export class NetworkController {
  readonly store: ControllerStore;
  readonly api: ControllerApi;
  readonly backend: ControllerBackend;
  /** Join tokens: issued through the API, spent by members' config requests. */
  readonly tokens: JoinTokens;
  private readonly now: () => number;
  private readonly backups: BackupSchedule;

  constructor(opts: ControllerOptions) {
    this.store = new ControllerStore(opts.dbFile, { logger: opts.logger, now: opts.now });
    this.now = opts.now ?? Date.now;
    this.tokens = new JoinTokens(this.store, this.now);
    try {
      this.api = new ControllerApi({ store: this.store, nodeAddress: opts.nodeAddress, logger: opts.logger, now: opts.now });
      this.backend = new ControllerBackend({
        store: this.store,
        tokens: this.tokens,
        nodeAddress: opts.nodeAddress,
        logger: opts.logger,
        now: opts.now,
      });
    } catch (e) {
      void this.store.close();
      throw e;
    }
    this.backups = new BackupSchedule(this.store, {
      intervalMs: opts.backupIntervalMs ?? DEFAULT_BACKUP_INTERVAL_MS,
      everyChanges: opts.backupEveryChanges ?? DEFAULT_BACKUP_EVERY_CHANGES,
      logger: opts.logger,
    });
    this.backups.start();
  }

  mount(router: Router): void {
    this.api.mount(router);
    mountTokenApi(router, this.tokens, this.now);
  }

  /** Join tokens accepted and refused (by reason) since start, for metrics. */
  joinTokenCounts(): JoinTokenStats {
    return this.tokens.counts();
  }

  close(): Promise<void> {
    this.backups.stop();
    return this.store.close();
  }
}
