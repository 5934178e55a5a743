/*
 * The control channels to the daemon (control.c): connections only, no message format (rpc.c).
 * Each thread that makes socket calls keeps a connection of its own; a call made while this
 * thread's channel is in use (from a signal handler) gets a connection of its own.
 */
#ifndef ZTNC_CONTROL_H
#define ZTNC_CONTROL_H

#include "location.h"

/* Where the daemon is; called once from init.c. */
ZT_HIDDEN void zt_control_init(const struct zt_location *where);
/* pthread_atfork child handler: the parent's channels are dropped (never used from two processes). */
ZT_HIDDEN void zt_control_after_fork_child(void);

/* Replies a channel may owe to requests posted without waiting (rpc.h zt_rpc_post). */
#define ZT_MAX_OWED 16

/* A connection lent for one call. */
struct zt_channel_use {
  int fd;
  int fresh;         /* opened for this call: a failure on it is not a restarted daemon */
  int private;       /* a connection of this call's own, closed by zt_channel_release */
  int *owed;         /* replies the daemon still owes on this channel to posted requests (rpc.c); NULL when private */
  uint8_t *owed_ops; /* the op of each owed reply, oldest first (ZT_MAX_OWED) */
};

/*
 * Lends a connection for one call. `wait` = the answer may take long (no receive timeout);
 * otherwise a quick call fails after a timeout instead of hanging on a stuck daemon. 0, or
 * ENETDOWN (nothing serves the socket) or EACCES (what serves it is not trusted, see trust.h).
 */
ZT_HIDDEN int zt_channel_acquire(int wait, struct zt_channel_use *use);
/* Gives the connection back; `broken` = out of step or dead: it is closed, never reused. */
ZT_HIDDEN void zt_channel_release(struct zt_channel_use *use, int broken);

#endif
