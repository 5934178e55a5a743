/**
 * When `controller.db.backup` is written: once at start-up, so a fresh copy exists from the first
 * minute, then after every `everyChanges` network or member changes or `intervalMs` after the last
 * one when anything changed since, whichever comes first. Backups never overlap: changes made
 * while one runs are counted toward the next.
 */
import type { Logger } from 'pino';
import type { ControllerStore } from './store.js';

export interface BackupScheduleOptions {
  /** Time trigger, ms; 0 turns automatic backups off entirely (start-up, time and count). */
  intervalMs: number;
  /** Count trigger: this many changes since the last backup start one; 0: no count trigger. */
  everyChanges: number;
  logger?: Logger;
}

export const DEFAULT_BACKUP_INTERVAL_MS = 60_000;
export const DEFAULT_BACKUP_EVERY_CHANGES = 100;

export class BackupSchedule {
  /** Changes since the last backup began. */
  private changes = 0;
  private running = false;
  /** A trigger fired while a backup ran: run again when it ends. */
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly store: ControllerStore,
    private readonly opts: BackupScheduleOptions,
  ) {}

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.run();
    this.unsubscribe = this.store.onChange(() => {
      this.changes++;
      if (this.opts.everyChanges > 0 && this.changes >= this.opts.everyChanges) this.run();
    });
    this.timer = setInterval(() => {
      if (this.changes > 0) this.run();
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private run(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.changes = 0;
    this.store
      .backup()
      .catch((e: unknown) => this.opts.logger?.error({ err: e, file: this.store.file }, 'controller backup failed'))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.run();
        }
      });
  }
}
