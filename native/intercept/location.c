/* The daemon socket's candidate paths, from ZT_NC_SOCKET, ZT_NC_ENDPOINT, ZT_NC_HOME and XDG_RUNTIME_DIR
 * (location.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int zt_endpoint_name_valid(const char *name) {
  size_t i, n = strlen(name);
  if (n < 1 || n > ZT_ENDPOINT_NAME_MAX) return 0;
  for (i = 0; i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return 0;
  }
  return 1;
}

/* The socket of endpoint `name` (not `default`) in the home ZT_NC_HOME, else $HOME/.ztnc (the
 * daemon's default home). A name such as "../x" never reaches a path: it is refused first. */
static enum zt_location_error endpoint_socket(const char *name, const char *nwid, struct zt_location *out, char *why,
                                              size_t whylen) {
  const char *home = env("ZT_NC_HOME"), *user_home;
  char dir[sizeof(out->candidates[0].path)];
  int n;
  if (!zt_endpoint_name_valid(name)) {
    snprintf(why, whylen, "ZT_NC_ENDPOINT=\"%.80s\" is not an endpoint name (^[a-z0-9][a-z0-9_.-]{0,62}$)", name);
    return ZT_LOC_BAD_ENDPOINT;
  }
  if (home == NULL) {
    user_home = env("HOME");
    if (user_home == NULL || user_home[0] != '/') {
      snprintf(why, whylen,
               "ZT_NC_ENDPOINT=%s needs ZT_NC_HOME, or HOME for the default home $HOME/" ZT_DEFAULT_HOME_DIR, name);
      return ZT_LOC_NO_HOME;
    }
    n = snprintf(dir, sizeof(dir), "%s/" ZT_DEFAULT_HOME_DIR, user_home);
    if (n <= 0 || (size_t)n >= sizeof(dir)) goto too_long;
    home = dir;
  }
  if (add(out, 1, "%s/" ZT_ENDPOINTS_DIR "/%s/" ZT_HOME_SOCKET_DIR "/%s" ZT_SOCKET_SUFFIX, home, name, nwid) == 0)
    return ZT_LOC_OK;
too_long:
  snprintf(why, whylen, "the socket path of endpoint %s is too long for a socket address", name);
  return ZT_LOC_TOO_LONG;
}

enum zt_location_error zt_location_from_env(const char *nwid, struct zt_location *out, char *why, size_t whylen) {
  const char *explicit_path = env("ZT_NC_SOCKET"), *home = env("ZT_NC_HOME"), *endpoint = getenv("ZT_NC_ENDPOINT");
  const char *runtime;
  out->count = 0;
  why[0] = '\0';
  if (explicit_path != NULL) {
    if (add(out, 0, "%s%s%s", explicit_path, "", "") == 0) return ZT_LOC_OK;
    snprintf(why, whylen, "ZT_NC_SOCKET is too long for a socket address");
    return ZT_LOC_TOO_LONG;
  }
  /* Empty or `default`: the daemon's own identity, in the places below. */
  if (endpoint != NULL && endpoint[0] != '\0' && strcmp(endpoint, ZT_DEFAULT_ENDPOINT) != 0)
    return endpoint_socket(endpoint, nwid, out, why, whylen);
  if (home != NULL) {
    if (add(out, 1, "%s/" ZT_HOME_SOCKET_DIR "/%s%s", home, nwid, ZT_SOCKET_SUFFIX) == 0) return ZT_LOC_OK;
    snprintf(why, whylen, "the socket path in ZT_NC_HOME is too long for a socket address");
    return ZT_LOC_TOO_LONG;
  }
  runtime = runtime_dir();
  /* A runtime path too long for a socket address is skipped: the fallback still applies. */
  if (runtime != NULL && add(out, 1, "%s/" ZT_RUNTIME_SOCKET_DIR "/%s%s", runtime, nwid, ZT_SOCKET_SUFFIX) != 0)
    out->count = 0;
  if (add(out, 1, ZT_DEFAULT_DIR_PREFIX "%s/%s%s", nwid, nwid, ZT_SOCKET_SUFFIX) == 0) return ZT_LOC_OK;
  snprintf(why, whylen, "the default socket path is too long for a socket address");
  return ZT_LOC_TOO_LONG;
}
