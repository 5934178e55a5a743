/*
 * The control channels to the daemon. Each thread that makes socket calls keeps a connection of
 * its own (no lock is ever taken or held across a call, fork or signal), kept at a high fd number
 * with close-on-exec, re-validated by inode before each use (close_range/closefrom and dup2 can
 * take the number away), closed when the thread exits and dropped in a forked child. A call made
 * while this thread's channel is in use (from a signal handler) uses a connection of its own.
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

#include "shim.h"

/* A quick call that gets no answer in this time means the daemon is stuck: fail, never hang. */
#define ZT_QUICK_TIMEOUT_S 10
/* Lowest fd number for a channel, so it stays out of the way of the app's own numbering. */
#define ZT_HIGH_FD_HINT 900
/* Channels a forked child must close; threads beyond this many use a connection per call. */
#define ZT_MAX_CHANNELS 256

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int have_path;

struct channel {
  int fd;
  dev_t dev;
  ino_t ino;
  int timeout_s; /* SO_RCVTIMEO now set on fd: -1 unknown, 0 none */
  int busy;      /* a call is under way on this thread (a signal handler must not share it) */
  int slot;      /* index in `registry`, or -1 */
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
}

static void on_thread_exit(void *unused) {
  (void)unused;
  drop_channel(&tch);
}

void zt_control_init(const char *socket_path) {
  size_t n = strlen(socket_path);
  if (n == 0 || n >= sizeof(sock_path)) return;
  memcpy(sock_path, socket_path, n + 1);
  have_path = 1;
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
}

static void set_timeout(int fd, int seconds) {
  struct timeval tv = {.tv_sec = seconds, .tv_usec = 0};
  zt_real.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  zt_real.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Opens a connection to the daemon: fd, or -1 with the daemon unreachable. */
static int open_connection(int quick) {
  struct sockaddr_un sa;
  int fd, rc;
  if (!have_path) return -1;
  fd = zt_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
  do {
    rc = zt_real.connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    zt_trace("daemon socket %s: %s", sock_path, strerror(errno));
    close(fd);
    return -1;
  }
  if (quick) set_timeout(fd, ZT_QUICK_TIMEOUT_S);
  return fd;
}

static int move_high(int fd) {
  struct rlimit rl;
  int hint = ZT_HIGH_FD_HINT, high;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (rlim_t)hint >= rl.rlim_cur)
    hint = rl.rlim_cur > 64 ? (int)rl.rlim_cur - 32 : 3;
  high = fcntl(fd, F_DUPFD_CLOEXEC, hint);
  if (high < 0) return fd;
  close(fd);
  return high;
}

static int send_all(int fd, const uint8_t *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += (size_t)n;
  }
  return 0;
}

/* Reads exactly `len` bytes, collecting an attached fd. EINTR ends the read only when `interruptible`. */
static int recv_exact(int fd, uint8_t *buf, size_t len, int cloexec, int interruptible, int *got_fd) {
  size_t off = 0;
  while (off < len) {
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    struct iovec iov = {.iov_base = buf + off, .iov_len = len - off};
    struct msghdr msg;
    struct cmsghdr *c;
    ssize_t n;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cm.buf;
    msg.msg_controllen = sizeof(cm.buf);
    n = recvmsg(fd, &msg, cloexec ? MSG_CMSG_CLOEXEC : 0);
    if (n < 0) {
      if (errno == EINTR && !interruptible) continue;
      return errno == EAGAIN ? ETIMEDOUT : errno;
    }
    if (n == 0) return ECONNRESET;
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k; i++) {
        int f;
        memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (*got_fd < 0)
          *got_fd = f;
        else
          close(f);
      }
    }
    off += (size_t)n;
  }
  return 0;
}

/* One request/response on `fd`. 0, or an errno describing why the channel failed. */
static int exchange(int fd, const uint8_t *req, size_t req_len, uint8_t op, int cloexec, int interruptible,
                    struct zt_reply *reply) {
  uint8_t hdr[ZT_RESP_HEADER];
  uint32_t len;
  int got_fd = -1, err;
  err = send_all(fd, req, req_len);
  if (err) return err;
  err = recv_exact(fd, hdr, sizeof(hdr), cloexec, interruptible, &got_fd);
  if (err == 0) {
    memcpy(&len, hdr, 4);
    if (len < ZT_RESP_HEADER - 4 || len > ZT_MAX_FRAME - 4 || hdr[4] != ZT_PROTO_VERSION || hdr[5] != op) {
      err = EPROTO;
    } else {
      uint16_t flags;
      memcpy(&flags, hdr + 6, 2);
      memcpy(&reply->result, hdr + 8, 4);
      reply->flags = flags;
      reply->payload_len = len - (ZT_RESP_HEADER - 4);
      err = recv_exact(fd, reply->payload, reply->payload_len, cloexec, interruptible, &got_fd);
    }
  }
  if (err) {
    if (got_fd >= 0) close(got_fd);
    return err;
  }
  reply->fd = got_fd;
  return 0;
}

/* Makes `c` this thread's new channel: 0, or -1 with the daemon unreachable. */
static int open_channel(struct channel *c) {
  struct stat st;
  int fd = open_connection(0), i;
  if (fd < 0) return -1;
  fd = move_high(fd);
  if (fstat(fd, &st) != 0) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->dev = st.st_dev;
  c->ino = st.st_ino;
  c->timeout_s = 0;
  c->slot = -1;
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

int zt_rpc(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len, int wait, int cloexec,
           struct zt_reply *reply) {
  uint8_t req[ZT_MAX_FRAME];
  uint32_t frame_len = (uint32_t)(ZT_REQ_HEADER - 4 + len);
  int err = ENETDOWN, fd, attempt, want_timeout = wait ? 0 : ZT_QUICK_TIMEOUT_S;
  if (len > ZT_MAX_FRAME - ZT_REQ_HEADER) return EINVAL;
  memcpy(req, &frame_len, 4);
  req[4] = ZT_PROTO_VERSION;
  req[5] = op;
  memcpy(req + 6, &flags, 2);
  memcpy(req + 8, &ino, 8);
  if (len) memcpy(req + ZT_REQ_HEADER, payload, len);
  reply->fd = -1;
  reply->payload_len = 0;

  if (tch.busy) {
    /* A signal handler interrupted a call on this thread's channel: use a connection of its own. */
    fd = open_connection(!wait);
    if (fd < 0) return ENETDOWN;
    err = exchange(fd, req, ZT_REQ_HEADER + len, op, cloexec, wait, reply);
    close(fd);
    if (err == EINTR) return EINTR;
    return err ? ENETDOWN : 0;
  }
  tch.busy = 1;
  /* A second attempt on a fresh connection covers a daemon that restarted since the last call. */
  for (attempt = 0; attempt < 2; attempt++) {
    int fresh = 0;
    if (!channel_valid(&tch)) {
      if (open_channel(&tch) != 0) {
        err = ENETDOWN;
        break;
      }
      fresh = 1;
    }
    if (tch.timeout_s != want_timeout) {
      set_timeout(tch.fd, want_timeout);
      tch.timeout_s = want_timeout;
    }
    err = exchange(tch.fd, req, ZT_REQ_HEADER + len, op, cloexec, wait, reply);
    if (err == 0) break;
    /* The channel is out of step (an answer may still come) or dead: never reuse it. */
    zt_trace("control channel failed (%s)", strerror(err));
    drop_channel(&tch);
    if (err == EINTR) break;
    if (fresh || (err != ECONNRESET && err != EPIPE)) {
      err = ENETDOWN;
      break;
    }
    err = ENETDOWN;
  }
  tch.busy = 0;
  return err;
}
