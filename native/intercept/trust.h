/*
 * Whether a daemon socket may be trusted with the app's calls (trust.c). Another local user who
 * creates the socket first (a squatter on /tmp) would otherwise receive every call and the data
 * of every connection. Nothing is sent on a connection before zt_trust_peer has passed.
 */
#ifndef ZTNC_TRUST_H
#define ZTNC_TRUST_H

#include "shim.h"

/*
 * The directory holding `socket_path` must be a real directory (not a symlink) owned by this
 * process's effective uid, with no group or other permission bits. 0 when it is; ENOENT when it
 * does not exist (nothing serves there); EACCES otherwise, with the reason written to `why`.
 */
ZT_HIDDEN int zt_trust_dir(const char *socket_path, char *why, size_t why_len);

/*
 * The process serving connected Unix socket `fd` must run as this process's effective uid
 * (SO_PEERCRED) — root included: root's apps talk only to root's daemon, as the daemon accepts
 * only peers of its own uid. 0, or EACCES with the reason in `why`.
 */
ZT_HIDDEN int zt_trust_peer(int fd, char *why, size_t why_len);

#endif
