/* Checks on the daemon socket before the first byte is sent to it (trust.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"

int zt_trust_dir(const char *socket_path, char *why, size_t why_len) {
  char dir[256];
  const char *slash = strrchr(socket_path, '/');
  size_t n;
  struct stat st;
  if (slash == NULL) {
    snprintf(why, why_len, "%s: not an absolute path", socket_path);
    return EACCES;
  }
  n = slash == socket_path ? 1 : (size_t)(slash - socket_path);
  if (n >= sizeof(dir)) {
    snprintf(why, why_len, "%s: path too long", socket_path);
    return EACCES;
  }
  memcpy(dir, socket_path, n);
  dir[n] = '\0';
  if (lstat(dir, &st) != 0) {
    if (errno == ENOENT) return ENOENT;
    snprintf(why, why_len, "%s: %s", dir, strerror(errno));
    return EACCES;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(why, why_len, "%s: not a directory (a symlink?)", dir);
    return EACCES;
  }
  if (st.st_uid != geteuid()) {
    snprintf(why, why_len, "%s: owned by uid %u, not this user (uid %u)", dir, (unsigned)st.st_uid,
             (unsigned)geteuid());
    return EACCES;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(why, why_len, "%s: mode %03o lets others in (must be 0700)", dir, (unsigned)(st.st_mode & 0777));
    return EACCES;
  }
  return 0;
}

int zt_trust_peer(int fd, char *why, size_t why_len) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (zt_real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    snprintf(why, why_len, "no peer credentials (%s)", strerror(errno));
    return EACCES;
  }
  if (cred.uid != geteuid()) {
    snprintf(why, why_len, "served by uid %u (pid %d), not this user (uid %u)", (unsigned)cred.uid, (int)cred.pid,
             (unsigned)geteuid());
    return EACCES;
  }
  return 0;
}
