/*
 * The library's set-up from the environment, done once before the first hooked call acts:
 * ZT_NC_NWID (unset: the library does nothing), ZT_NC_DEBUG, ZT_NC_FASTPATH, and where the daemon
 * is (location.c: ZT_NC_SOCKET, ZT_NC_ENDPOINT, ZT_NC_HOME…).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fdtable.h"
#include "location.h"

int zt_enabled;
int zt_misconfigured;
int zt_fastpath = 1;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* Set while this thread runs init(): a hook it reaches meanwhile must not wait for itself. */
static __thread int initialising;

static int valid_nwid(const char *s) {
  size_t i;
  if (strlen(s) != 16) return 0;
  for (i = 0; i < 16; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
  }
  return 1;
}

/* One line on stderr, "ztnc: <what>: IPv4/IPv6 sockets fail with EACCES" (a single write). */
static void say_always(const char *what) {
  char line[400];
  int n = snprintf(line, sizeof(line), "ztnc: %s: IPv4/IPv6 sockets fail with EACCES\n", what);
  if (n > (int)sizeof(line) - 1) n = (int)sizeof(line) - 1;
  if (n > 0 && zt_real.write(2, line, (size_t)n) < 0) { /* nothing more can be said */
  }
}

static void setup(void) {
  const char *nwid, *dbg, *fast;
  struct zt_location where;
  char nw[17], why[300];
  int i;
  dbg = getenv("ZT_NC_DEBUG");
  zt_debug = dbg != NULL && dbg[0] != '\0' && strcmp(dbg, "0") != 0;
  fast = getenv("ZT_NC_FASTPATH");
  zt_fastpath = fast == NULL || strcmp(fast, "0") != 0;
  nwid = getenv("ZT_NC_NWID");
  if (nwid == NULL || nwid[0] == '\0') return;
  zt_enabled = 1;
  if (!valid_nwid(nwid)) {
    zt_misconfigured = ENETDOWN;
    zt_trace("ZT_NC_NWID=%s is not 16 hex digits: IPv4 sockets will fail with ENETDOWN", nwid);
    return;
  }
  for (i = 0; i < 16; i++) nw[i] = (char)((nwid[i] >= 'A' && nwid[i] <= 'F') ? nwid[i] + 32 : nwid[i]);
  nw[16] = '\0';
  switch (zt_location_from_env(nw, &where, why, sizeof(why))) {
  case ZT_LOC_OK:
    break;
  case ZT_LOC_TOO_LONG:
    zt_misconfigured = ENETDOWN;
    zt_trace("%s: IPv4 sockets will fail with ENETDOWN", why);
    return;
  default:
    /* A setting the user must fix (ZT_NC_ENDPOINT): said once on stderr even without ZT_NC_DEBUG,
     * since every socket of the program would otherwise fail with no word why. */
    zt_misconfigured = EACCES;
    say_always(why);
    return;
  }
  zt_control_init(&where);
  pthread_atfork(NULL, NULL, zt_control_after_fork_child);
  zt_trace("active for network %s via %s%s%s", nw, where.candidates[0].path, where.count > 1 ? ", else " : "",
           where.count > 1 ? where.candidates[1].path : "");
  /* Datagram sockets inherited across exec: their data path needs their table entries now. */
  zt_fd_scan_inherited();
}

static void init(void) {
  initialising = 1;
  zt_real_resolve();
  zt_real_resolve_netdb();
  setup();
  initialising = 0;
}

void zt_ensure_init(void) {
  if (!initialising) pthread_once(&init_once, init);
}
