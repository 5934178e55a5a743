/*
 * The paths bench's impairment relay (this kernel has no netem): it makes two TAP devices and
 * forwards every Ethernet frame from one to the other, each direction through the same path model
 * as src/netstack/sim-link.ts — an optional bottleneck (rate and drop-tail queue), a one-way
 * delay, random loss, and reordering (a fraction of frames delayed a little more) — with the
 * random draws from a fixed seed, one stream per direction (the n-th IP frame of a direction meets
 * the same fate in every run). Frames wait in one timer queue (a binary heap on their due time)
 * and the loop sleeps in ppoll() until the next one is due or a frame arrives: no busy loop.
 *
 *   impair_relay <tap-a> <tap-b>
 *
 * It prints "READY" once both devices exist (the bench then moves them into its namespaces), and
 * takes commands on stdin, one per line, answering each with one line on stdout:
 *   set delay_ms=10 loss=0.01 reorder=0.1 reorder_ms=1 rate_mbps=0 queue_bytes=0 seed=1
 *       (every key optional: the others keep their values; the counters restart) → "ok"
 *   stats → one JSON object of counters
 * End of stdin or SIGTERM ends it. Loss and reordering touch IP frames only (IPv4, IPv6): ARP and
 * the rest are delayed like the others but never dropped, so a path's neighbours stay known.
 * The TAP devices have no offloads, so the kernels on both sides hand over whole, checksummed frames.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 65536
/* Frames waiting at once, both directions (about 2 s of 1 Gbit/s in 1500-byte frames). */
#define MAX_PENDING (1 << 18)

struct params {
  double delay_ms, loss, reorder, reorder_ms, rate_mbps;
  long queue_bytes;
};

struct frame {
  uint64_t due_ns, seq;
  int to; /* index of the output device */
  uint32_t len;
  unsigned char *data;
};

struct counters {
  unsigned long long in, out, lost, queue_drops, reordered, write_errors, overflow;
};

static struct params P = {0, 0, 0, 1, 0, 0};
static struct counters C[2];
static struct frame *heap;
static size_t heap_n;
static uint64_t next_seq;
/* One random stream per direction: what each direction drops depends on its own frames only. */
static uint64_t rng[2];
/* Per direction: when the bottleneck is next free to start sending a frame. */
static uint64_t link_free_ns[2];
static volatile sig_atomic_t stop;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* splitmix64: fixed seed, same draws every run. */
static double draw(int dir) {
  uint64_t z = (rng[dir] += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0;
}

static int earlier(const struct frame *a, const struct frame *b) {
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_push(struct frame f) {
  size_t i = heap_n++;
  heap[i] = f;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!earlier(&heap[i], &heap[p])) break;
    struct frame t = heap[i];
    heap[i] = heap[p];
    heap[p] = t;
    i = p;
  }
}

static struct frame heap_pop(void) {
  struct frame top = heap[0];
  heap[0] = heap[--heap_n];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_n && earlier(&heap[l], &heap[m])) m = l;
    if (r < heap_n && earlier(&heap[r], &heap[m])) m = r;
    if (m == i) break;
    struct frame t = heap[i];
    heap[i] = heap[m];
    heap[m] = t;
    i = m;
  }
  return top;
}

static int open_tap(const char *name) {
  struct ifreq ifr;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    perror("open /dev/net/tun");
    exit(1);
  }
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    fprintf(stderr, "TUNSETIFF %s: %s\n", name, strerror(errno));
    exit(1);
  }
  return fd;
}

static int is_ip(const unsigned char *f, uint32_t len) {
  if (len < 14) return 0;
  unsigned type = (unsigned)f[12] << 8 | f[13];
  return type == 0x0800 || type == 0x86dd;
}

/* A frame from device `from`: dropped, or queued for the other one when its time comes. */
static void arrive(int from, unsigned char *buf, uint32_t len, uint64_t now) {
  int dir = from;
  C[dir].in++;
  int ip = is_ip(buf, len);
  if (ip && P.loss > 0 && draw(dir) < P.loss) {
    C[dir].lost++;
    return;
  }
  uint64_t leave = now;
  if (P.rate_mbps > 0) {
    uint64_t start = link_free_ns[dir] > now ? link_free_ns[dir] : now;
    if (P.queue_bytes > 0 && (double)(start - now) * P.rate_mbps / 8e3 > (double)P.queue_bytes) {
      C[dir].queue_drops++;
      return;
    }
    link_free_ns[dir] = start + (uint64_t)((double)len * 8e3 / P.rate_mbps);
    leave = link_free_ns[dir];
  }
  uint64_t due = leave + (uint64_t)(P.delay_ms * 1e6);
  if (ip && P.reorder > 0 && draw(dir) < P.reorder) {
    due += (uint64_t)(P.reorder_ms * 1e6);
    C[dir].reordered++;
  }
  if (heap_n >= MAX_PENDING) {
    C[dir].overflow++;
    return;
  }
  struct frame f = {due, next_seq++, 1 - from, len, malloc(len)};
  if (!f.data) {
    C[dir].overflow++;
    return;
  }
  memcpy(f.data, buf, len);
  heap_push(f);
}

static void print_stats(void) {
  printf("{");
  for (int d = 0; d < 2; d++)
    printf("%s\"%s\":{\"in\":%llu,\"out\":%llu,\"lost\":%llu,\"queue_drops\":%llu,\"reordered\":%llu,\"write_errors\":%llu,"
           "\"overflow\":%llu}",
           d ? "," : "", d ? "b_to_a" : "a_to_b", C[d].in, C[d].out, C[d].lost, C[d].queue_drops, C[d].reordered,
           C[d].write_errors, C[d].overflow);
  printf(",\"pending\":%zu}\n", heap_n);
  fflush(stdout);
}

/* One command line; unknown keys or values are answered with "error …", never taken. */
static void command(char *line) {
  line[strcspn(line, "\r\n")] = 0;
  if (strcmp(line, "stats") == 0) {
    print_stats();
    return;
  }
  if (strncmp(line, "set", 3) != 0) {
    printf("error unknown command\n");
    fflush(stdout);
    return;
  }
  struct params p = P;
  uint64_t seed = 0;
  int seeded = 0;
  for (char *save = NULL, *tok = strtok_r(line + 3, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    char *eq = strchr(tok, '='), *end = NULL;
    if (!eq) goto bad;
    *eq = 0;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || v < 0) goto bad;
    if (!strcmp(tok, "delay_ms")) p.delay_ms = v;
    else if (!strcmp(tok, "loss") && v <= 1) p.loss = v;
    else if (!strcmp(tok, "reorder") && v <= 1) p.reorder = v;
    else if (!strcmp(tok, "reorder_ms")) p.reorder_ms = v;
    else if (!strcmp(tok, "rate_mbps")) p.rate_mbps = v;
    else if (!strcmp(tok, "queue_bytes")) p.queue_bytes = (long)v;
    else if (!strcmp(tok, "seed")) seed = (uint64_t)v, seeded = 1;
    else goto bad;
  }
  P = p;
  if (seeded) {
    rng[0] = seed;
    rng[1] = seed ^ 0x5bd1e9955bd1e995ull;
  }
  memset(C, 0, sizeof(C));
  printf("ok\n");
  fflush(stdout);
  return;
bad:
  printf("error bad setting\n");
  fflush(stdout);
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: impair_relay <tap-a> <tap-b>\n");
    return 2;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);
  heap = calloc(MAX_PENDING, sizeof(*heap));
  int tap[2] = {open_tap(argv[1]), open_tap(argv[2])};
  static unsigned char buf[MAX_FRAME];
  char line[512];
  size_t line_len = 0;
  rng[0] = 1;
  rng[1] = 1 ^ 0x5bd1e9955bd1e995ull;
  printf("READY\n");
  fflush(stdout);
  while (!stop) {
    uint64_t now = now_ns();
    while (heap_n > 0 && heap[0].due_ns <= now) {
      struct frame f = heap_pop();
      int dir = 1 - f.to;
      if (write(tap[f.to], f.data, f.len) == (ssize_t)f.len)
        C[dir].out++;
      else
        C[dir].write_errors++;
      free(f.data);
    }
    struct pollfd pfd[3] = {{tap[0], POLLIN, 0}, {tap[1], POLLIN, 0}, {0, POLLIN, 0}};
    struct timespec ts, *tsp = NULL;
    if (heap_n > 0) {
      uint64_t wait = heap[0].due_ns > now ? heap[0].due_ns - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int n = ppoll(pfd, 3, tsp, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("ppoll");
      return 1;
    }
    now = now_ns();
    for (int i = 0; i < 2; i++) {
      if (!(pfd[i].revents & POLLIN)) continue;
      /* a bounded batch per wakeup, so one busy direction cannot starve the other or the timers */
      for (int k = 0; k < 64; k++) {
        ssize_t r = read(tap[i], buf, sizeof(buf));
        if (r <= 0) break;
        arrive(i, buf, (uint32_t)r, now);
      }
    }
    if (pfd[2].revents & (POLLIN | POLLHUP)) {
      ssize_t r = read(0, line + line_len, sizeof(line) - 1 - line_len);
      if (r <= 0) break;
      line_len += (size_t)r;
      line[line_len] = 0;
      char *nl;
      while ((nl = memchr(line, '\n', line_len)) != NULL) {
        *nl = 0;
        command(line);
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, line_len - used);
        line_len -= used;
      }
      if (line_len >= sizeof(line) - 1) line_len = 0; /* an overlong line is thrown away */
    }
  }
  return 0;
}
