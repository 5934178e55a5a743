/*
 * The control channel to the daemon. One connection per process, kept at a high fd number with
 * close-on-exec, re-validated by inode before each use (close_range/closefrom and dup2 can take
 * the number away) and dropped in a forked child. A call that finds the channel busy (another
 * thread, or a signal handler interrupting a call) and calls that may wait (blocking connect)
 * use a connection of their own, so no lock is ever waited on.
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
/* Lowest fd number for the channel, so it stays out of the way of the app's own numbering. */
#define ZT_HIGH_FD_HINT 900

static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int have_path;

static pthread_mutex_t channel_lock = PTHREAD_MUTEX_INITIALIZER;
static int channel_fd = -1;
static dev_t channel_dev;
static ino_t channel_ino;

void zt_control_init(const char *socket_path) {
  size_t n = strlen(socket_path);
  if (n == 0 || n >= sizeof(sock_path)) return;
  memcpy(sock_path, socket_path, n + 1);
  have_path = 1;
}

static int channel_valid(void) {
  struct stat st;
  if (channel_fd < 0) return 0;
  if (fstat(channel_fd, &st) != 0 || st.st_ino != channel_ino || st.st_dev != channel_dev) {
    /* The number was closed or now names something else: forget it, never close it. */
    channel_fd = -1;
    return 0;
  }
  return 1;
}

void zt_control_after_fork_child(void) {
  pthread_mutex_init(&channel_lock, NULL);
  if (channel_valid()) close(channel_fd);
  channel_fd = -1;
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

int zt_rpc(uint8_t op, uint16_t flags, uint64_t ino, const void *payload, size_t len, int wait, int cloexec,
           struct zt_reply *reply) {
  uint8_t req[ZT_MAX_FRAME];
  uint32_t frame_len = (uint32_t)(ZT_REQ_HEADER - 4 + len);
  int err = ENETDOWN, fd, attempt;
  if (len > ZT_MAX_FRAME - ZT_REQ_HEADER) return EINVAL;
  memcpy(req, &frame_len, 4);
  req[4] = ZT_PROTO_VERSION;
  req[5] = op;
  memcpy(req + 6, &flags, 2);
  memcpy(req + 8, &ino, 8);
  if (len) memcpy(req + ZT_REQ_HEADER, payload, len);
  reply->fd = -1;
  reply->payload_len = 0;

  if (wait || pthread_mutex_trylock(&channel_lock) != 0) {
    fd = open_connection(!wait);
    if (fd < 0) return ENETDOWN;
    err = exchange(fd, req, ZT_REQ_HEADER + len, op, cloexec, wait, reply);
    close(fd);
    if (err == EINTR) return EINTR;
    return err ? ENETDOWN : 0;
  }
  /* A second attempt on a fresh connection covers a daemon that restarted since the last call. */
  for (attempt = 0; attempt < 2; attempt++) {
    if (!channel_valid()) {
      struct stat st;
      fd = open_connection(1);
      if (fd < 0) break;
      fd = move_high(fd);
      if (fstat(fd, &st) != 0) {
        close(fd);
        break;
      }
      channel_fd = fd;
      channel_dev = st.st_dev;
      channel_ino = st.st_ino;
    }
    err = exchange(channel_fd, req, ZT_REQ_HEADER + len, op, cloexec, 0, reply);
    if (err == 0) break;
    zt_trace("control channel failed (%s), reconnecting", strerror(err));
    close(channel_fd);
    channel_fd = -1;
    err = ENETDOWN;
  }
  pthread_mutex_unlock(&channel_lock);
  return err;
}
