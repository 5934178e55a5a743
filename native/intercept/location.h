/*
 * Where the daemon's RPC socket is, from the environment (location.c). The same order as the
 * daemon's src/netcon/socket-path.ts: ZT_NC_SOCKET, else — for an endpoint other than `default`
 * named by ZT_NC_ENDPOINT — <home>/endpoints/<name>/sockets/<nwid>.sock with <home> ZT_NC_HOME or
 * $HOME/.ztnc, else $ZT_NC_HOME/sockets/<nwid>.sock, else $XDG_RUNTIME_DIR/ztnc/<nwid>.sock when
 * that runtime directory is the user's own, then /tmp/.ztnc_<nwid>/<nwid>.sock.
 */
#ifndef ZTNC_LOCATION_H
#define ZTNC_LOCATION_H

#include <stddef.h>
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

/* Why the environment names no usable socket (zt_location_from_env). */
enum zt_location_error {
  ZT_LOC_OK = 0,
  ZT_LOC_TOO_LONG,     /* a path does not fit a socket address */
  ZT_LOC_BAD_ENDPOINT, /* ZT_NC_ENDPOINT is not an endpoint name */
  ZT_LOC_NO_HOME,      /* ZT_NC_ENDPOINT without ZT_NC_HOME, and HOME unset or not absolute */
};

/* 1 when `name` is an endpoint name: ^[a-z0-9][a-z0-9_.-]{0,62}$ (as socket-path.ts's pattern). */
ZT_HIDDEN int zt_endpoint_name_valid(const char *name);

/* Fills `out` for network `nwid` (16 lowercase hex digits); on an error, `why` (of `whylen`
 * bytes) says what is wrong in words for the user. */
ZT_HIDDEN enum zt_location_error zt_location_from_env(const char *nwid, struct zt_location *out, char *why,
                                                      size_t whylen);

#endif
