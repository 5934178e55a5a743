/* The daemon socket's candidate paths, from ZT_NC_SOCKET, ZT_NC_HOME and XDG_RUNTIME_DIR (location.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "location.h"

static int add(struct zt_location *out, int check_dir, const char *fmt, const char *a, const char *b, const char *c) {
  struct zt_candidate *cand = &out->candidates[out->count];
  int n = snprintf(cand->path, sizeof(cand->path), fmt, a, b, c);
  if (n <= 0 || (size_t)n >= sizeof(cand->path)) return -1;
  cand->check_dir = check_dir;
  out->count++;
  return 0;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* XDG_RUNTIME_DIR when it is an absolute path to a directory of this user's own. */
static const char *runtime_dir(void) {
  const char *dir = env("XDG_RUNTIME_DIR");
  struct stat st;
  if (dir == NULL || dir[0] != '/' || stat(dir, &st) != 0) return NULL;
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) return NULL;
  return dir;
}

int zt_location_from_env(const char *nwid, struct zt_location *out) {
  const char *explicit_path = env("ZT_NC_SOCKET"), *home = env("ZT_NC_HOME"), *runtime;
  out->count = 0;
  if (explicit_path != NULL) return add(out, 0, "%s%s%s", explicit_path, "", "");
  if (home != NULL) return add(out, 1, "%s/" ZT_HOME_SOCKET_DIR "/%s%s", home, nwid, ZT_SOCKET_SUFFIX);
  runtime = runtime_dir();
  /* A runtime path too long for a socket address is skipped: the fallback still applies. */
  if (runtime != NULL && add(out, 1, "%s/" ZT_RUNTIME_SOCKET_DIR "/%s%s", runtime, nwid, ZT_SOCKET_SUFFIX) != 0)
    out->count = 0;
  return add(out, 1, ZT_DEFAULT_DIR_PREFIX "%s/%s%s", nwid, nwid, ZT_SOCKET_SUFFIX);
}
