/** What an RPC handler answers: the result, response flags, payload and fds to pass (closed once sent). */
export interface Reply {
  result: number;
  flags?: number;
  payload?: Buffer;
  /** Descriptors to pass with the reply; the server closes its copies once sent. */
  fds?: number[];
}
