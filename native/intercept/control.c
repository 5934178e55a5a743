/*
 * The control channels to the daemon (control.h). Each thread keeps a connection of its own (no
 * lock is ever taken or held across a call, fork or signal), kept at a high fd number with
 * close-on-exec, re-validated by inode before each use (close_range/closefrom and dup2 can take
 * the number away), closed when the thread exits and dropped in a forked child. Every new
 * connection is checked (trust.c) before anything is sent on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "trust.h"

/* A quick call that gets no answer in this time means the daemon is stuck: fail, never hang. */
#define ZT_QUICK_TIMEOUT_S 10
/* Lowest fd number for a channel, so it stays out of the way of the app's own numbering. */
#define ZT_HIGH_FD_HINT 900
/* Channels a forked child must close; threads beyond this many use a connection per call. */
#define ZT_MAX_CHANNELS 256

static struct zt_location location;

struct channel {
  int fd;
  dev_t dev;
  ino_t ino;
  int timeout_s;                 /* SO_RCVTIMEO now set on fd: -1 unknown, 0 none */
  int busy;                      /* a call is under way on this thread (a signal handler must not share it) */
  int slot;                      /* index in `registry`, or -1 */
  int owed;                      /* replies to requests posted without waiting, not read yet (rpc.c zt_rpc_post) */
  uint8_t owed_ops[ZT_MAX_OWED]; /* their ops, oldest first */
};

static __thread struct channel tch = {.fd = -1, .timeout_s = -1, .slot = -1};

/* Every thread's channel (fd + 1, 0 = free; and its inode), so a forked child can close them. */
static struct {
  int fd1;
  ino_t ino;
} registry[ZT_MAX_CHANNELS];

static pthread_key_t exit_key;
static int have_exit_key;

static int channel_valid(struct channel *c) {
  struct stat st;
  if (c->fd < 0) return 0;
  if (fstat(c->fd, &st) != 0 || st.st_ino != c->ino || st.st_dev != c->dev) {
    /* The number was closed or now names something else: forget it, never close it. */
    if (c->slot >= 0) __atomic_store_n(&registry[c->slot].fd1, 0, __ATOMIC_RELEASE);
    c->fd = -1;
    c->slot = -1;
    c->owed = 0;
    return 0;
  }
  return 1;
}

/* Closes this thread's channel (when it is still ours). */
static void drop_channel(struct channel *c) {
  if (channel_valid(c)) {
    if (c->slot >= 0) __atomic_store_n(&registry[c->slot].fd1, 0, __ATOMIC_RELEASE);
    close(c->fd);
  }
  c->fd = -1;
  c->slot = -1;
  c->timeout_s = -1;
  c->owed = 0;
}

static void on_thread_exit(void *unused) {
  (void)unused;
  drop_channel(&tch);
}

void zt_control_init(const struct zt_location *where) {
  location = *where;
  have_exit_key = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

void zt_control_after_fork_child(void) {
  size_t i;
  /* Only the forking thread lives on here: every registered channel is a copy of the parent's. */
  for (i = 0; i < ZT_MAX_CHANNELS; i++) {
    int fd1 = registry[i].fd1;
    struct stat st;
    if (fd1 > 0 && fstat(fd1 - 1, &st) == 0 && st.st_ino == registry[i].ino) close(fd1 - 1);
    registry[i].fd1 = 0;
  }
  /* This thread's own channel, when the registry had no room for it. */
  if (tch.slot < 0 && channel_valid(&tch)) close(tch.fd);
  tch.fd = -1;
  tch.slot = -1;
  tch.timeout_s = -1;
  tch.owed = 0;
}

static void set_timeout(int fd, int seconds) {
  struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
  zt_real.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  zt_real.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connects to one candidate: fd, -ENOENT when nothing serves there, or -EACCES (untrusted). */
static int connect_candidate(const struct zt_candidate *cand) {
  struct sockaddr_un sa;
  char why[320];
  int fd, rc, err;
  if (cand->check_dir) {
    err = zt_trust_dir(cand->path, why, sizeof(why));
    if (err == ENOENT) return -ENOENT;
    if (err) {
      zt_trace("refusing daemon socket %s: %s", cand->path, why);
      return -EACCES;
    }
  }
  fd = zt_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -ENOENT;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, cand->path, strlen(cand->path) + 1);
  do {
    rc = zt_real.connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    zt_trace("daemon socket %s: %s", cand->path, strerror(errno));
    close(fd);
    return -ENOENT;
  }
  err = zt_trust_peer(fd, why, sizeof(why));
  if (err) {
    zt_trace("refusing daemon socket %s: %s", cand->path, why);
    close(fd);
    return -EACCES;
  }
  return fd;
}

/* Opens a connection to the daemon: fd, or -ENETDOWN / -EACCES. */
static int open_connection(int quick) {
  int i;
  for (i = 0; i < location.count; i++) {
    int fd = connect_candidate(&location.candidates[i]);
    if (fd == -ENOENT) continue;
    if (fd < 0) return fd;
    if (quick) set_timeout(fd, ZT_QUICK_TIMEOUT_S);
    return fd;
  }
  return -ENETDOWN;
}

static int move_high(int fd) {
  struct rlimit rl;
  int hint = ZT_HIGH_FD_HINT, high;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)hint >= rl.rlim_cur)
    hint = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 32 : 3;
  high = zt_real.fcntl(fd, F_DUPFD_CLOEXEC, hint);
  if (high < 0) return fd;
  close(fd);
  return high;
}

/* Makes `c` this thread's new channel: 0, or a positive errno (ENETDOWN, EACCES). */
static int open_channel(struct channel *c) {
  struct stat st;
  int fd = open_connection(0), i;
  if (fd < 0) return -fd;
  fd = move_high(fd);
  if (fstat(fd, &st) != 0) {
    close(fd);
    return ENETDOWN;
  }
  c->fd = fd;
  c->dev = st.st_dev;
  c->ino = st.st_ino;
  c->timeout_s = 0;
  c->slot = -1;
  c->owed = 0;
  for (i = 0; i < ZT_MAX_CHANNELS; i++) {
    int expected = 0;
    if (__atomic_compare_exchange_n(&registry[i].fd1, &expected, fd + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      registry[i].ino = st.st_ino;
      c->slot = i;
      break;
    }
  }
  if (have_exit_key) pthread_setspecific(exit_key, c);
  return 0;
}

int zt_channel_acquire(int wait, struct zt_channel_use *use) {
  int want_timeout = wait ? 0 : ZT_QUICK_TIMEOUT_S, err;
  use->fresh = 0;
  if (tch.busy) {
    /* A signal handler interrupted a call on this thread's channel: use a connection of its own. */
    int fd = open_connection(!wait);
    if (fd < 0) return -fd;
    use->fd = fd;
    use->fresh = 1;
    use->private = 1;
    use->owed = NULL;
    use->owed_ops = NULL;
    return 0;
  }
  if (!channel_valid(&tch)) {
    err = open_channel(&tch);
    if (err) return err;
    use->fresh = 1;
  }
  if (tch.timeout_s != want_timeout) {
    set_timeout(tch.fd, want_timeout);
    tch.timeout_s = want_timeout;
  }
  tch.busy = 1;
  use->fd = tch.fd;
  use->private = 0;
  use->owed = &tch.owed;
  use->owed_ops = tch.owed_ops;
  return 0;
}

void zt_channel_release(struct zt_channel_use *use, int broken) {
  if (use->private) {
    close(use->fd);
    return;
  }
  if (broken) drop_channel(&tch);
  tch.busy = 0;
}
