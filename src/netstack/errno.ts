/**
 * Linux errno values. Errors cross every boundary of the stack as these numbers (negated where a
 * call returns a count), never as thrown strings, so the netcon layer can hand them to apps as is.
 */
export const Errno = {
  EPERM: 1,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  ENODEV: 19,
  EINVAL: 22,
  EPIPE: 32,
  EPROTO: 71,
  EBADFD: 77,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
} as const;

export type ErrnoName = keyof typeof Errno;

const names: Map<number, ErrnoName> = new Map((Object.entries(Errno) as [ErrnoName, number][]).map(([k, v]) => [v, k]));

/** Symbolic name of an errno value (sign ignored), e.g. 111 → "ECONNREFUSED". */
export function errnoName(errno: number): string {
  return names.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}
