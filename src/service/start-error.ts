/** Why the daemon cannot start, in words for its operator (ztnc-service prints the message and exits 1). */
export class DaemonStartError extends Error {
  override readonly name = 'DaemonStartError';
}
