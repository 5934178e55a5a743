/*
 * Where the daemon's RPC socket is, from the environment (location.c). The same order as the
 * daemon's src/netcon/socket-path.ts: ZT_NC_SOCKET, else $ZT_NC_HOME/sockets/<nwid>.sock, else
 * $XDG_RUNTIME_DIR/ztnc/<nwid>.sock when that runtime directory is the user's own, then
 * /tmp/.ztnc_<nwid>/<nwid>.sock.
 */
#ifndef ZTNC_LOCATION_H
#define ZTNC_LOCATION_H

#include <sys/un.h>

#include "shim.h"

#define ZT_MAX_CANDIDATES 2

struct zt_candidate {
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  /* 1: the socket's directory must be this user's own and closed to others (trust.c). A socket
   * named by ZT_NC_SOCKET is the user's explicit choice; only its server is checked. */
  int check_dir;
};

/* Tried in order: a later candidate only when an earlier one has no socket at all. */
struct zt_location {
  int count;
  struct zt_candidate candidates[ZT_MAX_CANDIDATES];
};

/* Fills `out` for network `nwid` (16 lowercase hex digits): 0, or -1 when a path is too long. */
ZT_HIDDEN int zt_location_from_env(const char *nwid, struct zt_location *out);

#endif
