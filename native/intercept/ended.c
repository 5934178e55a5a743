/*
 * A socket whose daemon end has gone for good (ended.h). The app's end of a socketpair whose other
 * end is closed reads as end of stream for ever: readable at once, so an event loop waiting on it
 * would wake, fail and wake again without end (a listener's accept() fails, a UDP socket's recv
 * "receives" empty datagrams). Once the library has seen the end and said so, the fd number is
 * given a stand-in that nothing can reach, quiet as a kernel socket whose network has gone:
 * - for a listener, a listening AF_UNIX socket whose path was removed at once: never readable or
 *   writable, a blocking accept() waits (until a signal), a non-blocking one answers EAGAIN;
 * - for a datagram socket, an unbound AF_UNIX datagram socket: never readable, writable (as UDP),
 *   a blocking recv waits, a non-blocking one answers EAGAIN, sends fail.
 * The fd's close-on-exec and non-blocking flags carry over, and so does every epoll registration
 * of the old socket in this process (found through /proc/self/fdinfo), which would otherwise go
 * on reporting it as long as another process still holds the old socket.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ended.h"
#include "inocache.h"

/* epoll registrations of one socket moved over, at most. */
#define ZT_MAX_EPOLL_ITEMS 16

struct epoll_item {
  int epfd;
  struct epoll_event ev;
};

/* A listening Unix socket no one can reach: bound in a fresh 0700 directory, both removed at once. */
static int make_listener_standin(void) {
  char dir[] = "/tmp/.ztnc-ended-XXXXXX";
  struct sockaddr_un sa;
  int s, ok;
  if (mkdtemp(dir) == NULL) return -1;
  s = zt_real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/l", dir);
  ok = s >= 0 && zt_real.bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 && zt_real.listen(s, 1) == 0;
  unlink(sa.sun_path);
  rmdir(dir);
  if (!ok && s >= 0) close(s);
  return ok ? s : -1;
}

/* Does fd `epfd` name an epoll instance? */
static int is_epoll(int epfd) {
  char link[32], target[32];
  ssize_t n;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", epfd);
  n = readlink(link, target, sizeof(target) - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  return strcmp(target, "anon_inode:[eventpoll]") == 0;
}

/* The registrations of (fd, inode ino) in epoll instance epfd, from its fdinfo; appended to items. */
static int epoll_items_of(int epfd, int fd, unsigned long ino, struct epoll_item *items, int count) {
  char path[48], line[256];
  FILE *f;
  snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
  f = fopen(path, "re");
  if (f == NULL) return count;
  while (count < ZT_MAX_EPOLL_ITEMS && fgets(line, sizeof(line), f) != NULL) {
    int tfd;
    unsigned int events;
    unsigned long long data;
    unsigned long item_ino;
    /* "tfd: 5 events: 19 data: 5 pos:0 ino:1234 sdev:8" */
    if (sscanf(line, "tfd: %d events: %x data: %llx pos:%*d ino:%lx", &tfd, &events, &data, &item_ino) != 4) continue;
    if (tfd != fd || item_ino != ino) continue;
    items[count].epfd = epfd;
    items[count].ev.events = events;
    items[count].ev.data.u64 = data;
    count++;
  }
  fclose(f);
  return count;
}

/* Every epoll registration of the socket (fd, ino) in this process. */
static int find_epoll_items(int fd, unsigned long ino, struct epoll_item *items) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int count = 0;
  if (d == NULL) return 0;
  while ((e = readdir(d)) != NULL && count < ZT_MAX_EPOLL_ITEMS) {
    int epfd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || epfd == dirfd(d) || epfd == fd) continue;
    if (is_epoll(epfd)) count = epoll_items_of(epfd, fd, ino, items, count);
  }
  closedir(d);
  return count;
}

int zt_socket_ended(int fd, uint64_t ino, int dgram) {
  struct epoll_item items[ZT_MAX_EPOLL_ITEMS];
  struct stat st;
  int standin, fl, fdflags, n, i;
  fl = zt_real.fcntl(fd, F_GETFL);
  fdflags = zt_real.fcntl(fd, F_GETFD);
  if (fl < 0 || fdflags < 0) return -1;
  /* An unbound datagram socket has no address: nothing can send to it. */
  standin = dgram ? zt_real.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) : make_listener_standin();
  if (standin < 0) {
    zt_trace("socket %d ended; no stand-in could be made, it stays readable", fd);
    return -1;
  }
  if ((fl & O_NONBLOCK) && zt_real.fcntl(standin, F_SETFL, O_NONBLOCK) != 0) {
    close(standin);
    return -1;
  }
  /* Another thread may have swapped it already (or closed the number): only the ended socket is replaced. */
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_ino != ino) {
    close(standin);
    return 0;
  }
  n = find_epoll_items(fd, (unsigned long)ino, items);
  for (i = 0; i < n; i++) epoll_ctl(items[i].epfd, EPOLL_CTL_DEL, fd, NULL);
  if (zt_real.dup3(standin, fd, (fdflags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
    close(standin);
    for (i = 0; i < n; i++) epoll_ctl(items[i].epfd, EPOLL_CTL_ADD, fd, &items[i].ev);
    return -1;
  }
  close(standin);
  for (i = 0; i < n; i++) epoll_ctl(items[i].epfd, EPOLL_CTL_ADD, fd, &items[i].ev);
  if (fstat(fd, &st) == 0) zt_ino_remember((uint64_t)st.st_ino, ZT_INO_FOREIGN);
  zt_trace("%s %d ended (its daemon has gone): now a quiet stand-in, %d epoll registration%s moved",
           dgram ? "datagram socket" : "listener", fd, n, n == 1 ? "" : "s");
  return 0;
}
