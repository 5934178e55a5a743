/**
 * The network controller assembled: store (controller.db), JSON API routes and the node-facing
 * backend, with periodic backup to controller.db.backup.
 */
import type { Logger } from 'pino';
import type { Router } from '../service/http/router.js';
import { ControllerApi } from './api.js';
import { ControllerBackend } from './backend.js';
import { ControllerStore } from './store.js';

export interface ControllerOptions {
  /** Path of controller.db. */
  dbFile: string;
  /** This node's 10-digit hex address. */
  nodeAddress: string;
  logger?: Logger;
  now?: () => number;
  /** Backup period; 0 disables periodic backups. */
  backupIntervalMs?: number;
}

export const DEFAULT_BACKUP_INTERVAL_MS = 5 * 60_000;

export class NetworkController {
  readonly store: ControllerStore;
  readonly api: ControllerApi;
  readonly backend: ControllerBackend;

  constructor(opts: ControllerOptions) {
    this.store = new ControllerStore(opts.dbFile, { logger: opts.logger, now: opts.now });
    try {
      this.api = new ControllerApi({ store: this.store, nodeAddress: opts.nodeAddress, logger: opts.logger, now: opts.now });
      this.backend = new ControllerBackend({ store: this.store, nodeAddress: opts.nodeAddress, logger: opts.logger, now: opts.now });
    } catch (e) {
      void this.store.close();
      throw e;
    }
    const interval = opts.backupIntervalMs ?? DEFAULT_BACKUP_INTERVAL_MS;
    if (interval > 0) this.store.startPeriodicBackup(interval);
  }

  mount(router: Router): void {
    this.api.mount(router);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
