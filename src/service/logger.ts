/**
 * The daemon's logger: pino, human-readable when writing to a terminal, plain lines with syslog
 * priorities when stdout is the systemd journal (journal-format.ts), JSON lines otherwise (pipes,
 * files, log collectors). A log file can be reopened (SIGHUP) after rotation.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { isJournalStream, journalDestination } from './journal-format.js';

export interface ServiceLogger {
  logger: Logger;
  /** Reopens the log file (after it was moved away); a no-op when logging to a stream. */
  reopen(): void;
  /** Writes out anything buffered (before exit). */
  flush(): void;
}

export interface ServiceLoggerOptions {
  /** Append to this file instead of stdout. */
  file?: string;
  level?: string;
  /** Force pretty (true) or JSON (false) output; default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Force journal lines (true) or not (false); default: when stdout is JOURNAL_STREAM's. */
  journal?: boolean;
}

export function createServiceLogger(opts: ServiceLoggerOptions = {}): ServiceLogger {
  const level = opts.level ?? process.env.ZTNC_LOG_LEVEL ?? 'info';
  if (opts.file) {
    const dest = pino.destination({ dest: opts.file, append: true, sync: true, mkdir: false });
    return {
      logger: pino({ level }, dest),
      reopen: () => dest.reopen(),
      flush: () => dest.flushSync(),
    };
  }
  if (opts.journal ?? (opts.pretty === undefined && isJournalStream())) {
    return { logger: pino({ level }, journalDestination(1)), reopen: () => {}, flush: () => {} };
  }
  const usePretty = opts.pretty ?? process.stdout.isTTY === true;
  if (usePretty) {
    const stream = pretty({ colorize: true, sync: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' });
    return { logger: pino({ level }, stream), reopen: () => {}, flush: () => {} };
  }
  const dest = pino.destination({ dest: 1, sync: true });
  return { logger: pino({ level }, dest), reopen: () => {}, flush: () => dest.flushSync() };
}
