/*
 * Socket behaviours that libztintercept.so must reproduce. `behave <case> <ipv4 addr>`: every case
 * prints lines that must equal the kernel's own run of the same case (addresses and ports are
 * compared, never printed).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common.h"

static void case_flags(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), port, lfd;
  if (fd < 0) die("socket");
  SAY("nonblock %d cloexec %d", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  SAY("type %d domain %d protocol %d acceptconn %d", get_int_opt(fd, SOL_SOCKET, SO_TYPE),
      get_int_opt(fd, SOL_SOCKET, SO_DOMAIN), get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL),
      get_int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN));
  close(fd);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  SAY("plain nonblock %d cloexec %d", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  close(fd);
  lfd = listener(&port, 8);
  SAY("listener acceptconn %d error %d", get_int_opt(lfd, SOL_SOCKET, SO_ACCEPTCONN),
      get_int_opt(lfd, SOL_SOCKET, SO_ERROR));
  SAY("bad type %s", RES(socket(AF_INET, SOCK_STREAM | 0x40000000, 0)));
  SAY("bad protocol %s", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP) < 0 ? "refused" : "accepted");
  close(lfd);
}

static void set_get(int fd, int level, int name, int value, const char *label) {
  int r = setsockopt(fd, level, name, &value, sizeof(value));
  int e = errno;
  SAY("%s set %s get %d", label, r == 0 ? "OK" : ename(e), get_int_opt(fd, level, name));
}

static void case_options(void) {
  int fd = tcp_socket(), v;
  struct linger lg = {1, 5}, got;
  socklen_t l = sizeof(got);
  set_get(fd, IPPROTO_TCP, TCP_NODELAY, 1, "nodelay");
  set_get(fd, IPPROTO_TCP, TCP_CORK, 1, "cork");
  set_get(fd, IPPROTO_TCP, TCP_CORK, 0, "uncork");
  set_get(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "keepalive");
  set_get(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30, "keepidle");
  set_get(fd, IPPROTO_TCP, TCP_KEEPINTVL, 7, "keepintvl");
  set_get(fd, IPPROTO_TCP, TCP_KEEPCNT, 4, "keepcnt");
  set_get(fd, SOL_SOCKET, SO_REUSEADDR, 1, "reuseaddr");
  set_get(fd, SOL_SOCKET, SO_REUSEPORT, 1, "reuseport");
  SAY("linger set %s", RES(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))));
  memset(&got, 0, sizeof(got));
  getsockopt(fd, SOL_SOCKET, SO_LINGER, &got, &l);
  SAY("linger get on %d secs %d len %d", got.l_onoff, got.l_linger, (int)l);
  v = 65536;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
  SAY("rcvbuf at least set %d", get_int_opt(fd, SOL_SOCKET, SO_RCVBUF) >= 65536);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
  SAY("sndbuf at least set %d", get_int_opt(fd, SOL_SOCKET, SO_SNDBUF) >= 65536);
  SAY("short optlen set %s", RES(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, 2)));
  {
    char c = 0x7f;
    socklen_t cl = 1;
    int r = getsockopt(fd, SOL_SOCKET, SO_TYPE, &c, &cl);
    SAY("short getsockopt %s len %d byte %d", r == 0 ? "OK" : ename(errno), (int)cl, c);
  }
  {
    struct timeval tv = {2, 0}, tg;
    socklen_t tl = sizeof(tg);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tg, &tl);
    SAY("rcvtimeo %ld", (long)tg.tv_sec);
  }
  close(fd);
}

/*
 * The options servers set per request or per connection (nginx corks around each response, redis
 * sets TCP_NODELAY and SO_KEEPALIVE on each accepted connection), which the library posts without
 * waiting for the daemon: many more calls than it lets go unanswered at once, between writes,
 * each read back at the end, and every byte written still arrives.
 */
static void case_posted_options(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd), i, on;
  char buf[100];
  ssize_t got;
  static char all[100 * 100];
  memset(buf, 'p', sizeof(buf));
  for (i = 0; i < 100; i++) {
    on = i % 2;
    if (setsockopt(c, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) != 0) die("setsockopt TCP_CORK");
    if (setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) die("setsockopt TCP_NODELAY");
    if (setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0) die("setsockopt SO_KEEPALIVE");
    if (write_all(c, buf, sizeof(buf)) < 0) die("write");
  }
  SAY("after 300 sets: cork %d nodelay %d keepalive %d", get_int_opt(c, IPPROTO_TCP, TCP_CORK),
      get_int_opt(c, IPPROTO_TCP, TCP_NODELAY), get_int_opt(c, SOL_SOCKET, SO_KEEPALIVE));
  on = 0;
  setsockopt(c, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
  SAY("uncorked %d", get_int_opt(c, IPPROTO_TCP, TCP_CORK) == 0);
  close(c);
  got = read_full(fd, all, sizeof(all));
  SAY("peer read %zd", got);
  close(fd);
  close(lfd);
}

/* IP-level and rarely forwarded options, as sshd, iperf3, nginx, apache and curl set them. */
static void case_ip_options(void) {
  int fd = tcp_socket(), lfd, port, c, a, v;
  unsigned char byte;
  socklen_t l;
  char dev[32];
  SAY("tos default %d ttl default %d", get_int_opt(fd, IPPROTO_IP, IP_TOS), get_int_opt(fd, IPPROTO_IP, IP_TTL));
  set_get(fd, IPPROTO_IP, IP_TOS, 0x10, "tos lowdelay");
  set_get(fd, IPPROTO_IP, IP_TOS, 0xb9, "tos with ecn bits");
  set_get(fd, IPPROTO_IP, IP_TOS, 0x148, "tos above a byte");
  set_get(fd, IPPROTO_IP, IP_TTL, 33, "ttl");
  set_get(fd, IPPROTO_IP, IP_TTL, 0, "ttl zero");
  set_get(fd, IPPROTO_IP, IP_TTL, 256, "ttl 256");
  set_get(fd, IPPROTO_IP, IP_TTL, -1, "ttl back to default");
  byte = 0x28;
  SAY("tos one byte set %s", RES(setsockopt(fd, IPPROTO_IP, IP_TOS, &byte, 1)));
  byte = 0;
  l = 1;
  v = getsockopt(fd, IPPROTO_IP, IP_TOS, &byte, &l);
  SAY("tos one byte get %s len %d value %d", v == 0 ? "OK" : ename(errno), (int)l, byte);
  SAY("ttl empty set %s", RES(setsockopt(fd, IPPROTO_IP, IP_TTL, &v, 0)));
  set_get(fd, IPPROTO_IP, IP_RECVERR, 1, "recverr");
  set_get(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "v6only on inet");
  set_get(fd, IPPROTO_IPV6, IPV6_TCLASS, 0x10, "tclass on inet");
  SAY("priority default %d", get_int_opt(fd, SOL_SOCKET, SO_PRIORITY));
  set_get(fd, SOL_SOCKET, SO_PRIORITY, 4, "priority");
  SAY("priority short %s", RES(setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &v, 2)));
  set_get(fd, SOL_SOCKET, SO_TIMESTAMP, 1, "timestamp");
  set_get(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1, "timestampns");
  SAY("quickack default %d", get_int_opt(fd, IPPROTO_TCP, TCP_QUICKACK));
  set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 0, "quickack off");
  set_get(fd, IPPROTO_TCP, TCP_QUICKACK, 1, "quickack on");
  SAY("quickack short %s", RES(setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &v, 2)));
  set_get(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1, "fastopen connect");
  set_get(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 2, "fastopen connect 2");
  set_get(fd, IPPROTO_TCP, TCP_FASTOPEN, -1, "fastopen negative");
  SAY("tcp_info set %s", RES(setsockopt(fd, IPPROTO_TCP, TCP_INFO, &v, sizeof(v))));
  SAY("bindtodevice none %s", RES(setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "", 0)));
  l = sizeof(dev);
  memset(dev, 'x', sizeof(dev));
  v = getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &l);
  SAY("bindtodevice get %s len %d", v == 0 ? "OK" : ename(errno), (int)l);
  close(fd);

  /* A listener's options reach the connections it accepts; deferral and Fast Open are per listener. */
  lfd = tcp_socket();
  v = 0x20;
  setsockopt(lfd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
  v = 21;
  setsockopt(lfd, IPPROTO_IP, IP_TTL, &v, sizeof(v));
  v = 1;
  setsockopt(lfd, IPPROTO_IP, IP_RECVERR, &v, sizeof(v));
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
  {
    struct sockaddr_in sa = mkaddr(host_addr, 0);
    socklen_t sl = sizeof(sa);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("bind");
    if (listen(lfd, 8) != 0) die("listen");
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    port = ntohs(sa.sin_port);
  }
  set_get(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 30, "defer accept 30");
  set_get(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, "defer accept 1");
  set_get(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 0, "defer accept off");
  set_get(lfd, IPPROTO_TCP, TCP_FASTOPEN, 16, "fastopen queue");
  c = tcp_socket();
  v = 0x48;
  setsockopt(c, IPPROTO_IP, IP_TOS, &v, sizeof(v));
  {
    struct sockaddr_in sa = mkaddr(host_addr, port);
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("connect");
  }
  a = accept_one(lfd);
  SAY("accepted tos %d ttl %d recverr %d", get_int_opt(a, IPPROTO_IP, IP_TOS), get_int_opt(a, IPPROTO_IP, IP_TTL),
      get_int_opt(a, IPPROTO_IP, IP_RECVERR));
  SAY("connected tos %d ttl %d", get_int_opt(c, IPPROTO_IP, IP_TOS), get_int_opt(c, IPPROTO_IP, IP_TTL));
  set_get(c, IPPROTO_IP, IP_TTL, 9, "ttl while connected");
  set_get(c, IPPROTO_TCP, TCP_FASTOPEN, 5, "fastopen while connected");
  set_get(c, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1, "fastopen connect while connected");
  /* Data still flows with the changed header fields. */
  SAY("write %s", RES(write_all(c, "tos!", 4)));
  memset(dev, 0, sizeof(dev));
  SAY("read %zd %s", read_full(a, dev, 4), dev);
  close(c);
  close(a);
  /* Options outlive a refused connect and hold for the next attempt on the same socket. */
  {
    int gone_port, gone = listener(&gone_port, 8), s2 = tcp_socket();
    struct sockaddr_in sa = mkaddr(host_addr, gone_port);
    close(gone);
    v = 0x30;
    setsockopt(s2, IPPROTO_IP, IP_TOS, &v, sizeof(v));
    v = 17;
    setsockopt(s2, IPPROTO_IP, IP_TTL, &v, sizeof(v));
    SAY("refused %s", RES(connect(s2, (struct sockaddr *)&sa, sizeof(sa))));
    SAY("after refused tos %d ttl %d", get_int_opt(s2, IPPROTO_IP, IP_TOS), get_int_opt(s2, IPPROTO_IP, IP_TTL));
    sa = mkaddr(host_addr, port);
    SAY("second attempt %s", RES(connect(s2, (struct sockaddr *)&sa, sizeof(sa))));
    SAY("connected tos %d ttl %d", get_int_opt(s2, IPPROTO_IP, IP_TOS), get_int_opt(s2, IPPROTO_IP, IP_TTL));
    a = accept_one(lfd);
    close(a);
    close(s2);
  }
  close(lfd);
}

/* sendto(MSG_FASTOPEN) connects and sends in one call; a second one finds the socket connected. */
static void case_fastopen_sendto(void) {
  int port, lfd = listener(&port, 8), fd = tcp_socket(), a;
  struct sockaddr_in sa = mkaddr(host_addr, port);
  char got[8] = {0};
  ssize_t r = sendto(fd, "tfo", 3, MSG_FASTOPEN, (struct sockaddr *)&sa, sizeof(sa));
  SAY("sendto fastopen %s %zd", r < 0 ? ename(errno) : "OK", r);
  a = accept_one(lfd);
  SAY("peer read %zd %s", read_full(a, got, 3), got);
  r = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&sa, sizeof(sa));
  SAY("again %s", r < 0 ? ename(errno) : "OK");
  SAY("plain sendto with address %s", RES(sendto(fd, "y", 1, 0, (struct sockaddr *)&sa, sizeof(sa))));
  memset(got, 0, sizeof(got));
  SAY("peer read %zd %s", read_full(a, got, 1), got);
  close(a);
  close(fd);
  close(lfd);
}

/* The part of Linux's struct tcp_info (include/uapi/linux/tcp.h) the tests look at. */
struct linux_tcp_info {
  uint8_t state, ca_state, retransmits, probes, backoff, options, wscale, flags;
  uint32_t rto, ato, snd_mss, rcv_mss;
  uint32_t unacked, sacked, lost, retrans, fackets;
  uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
  uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
  uint32_t rcv_rtt, rcv_space;
  uint32_t total_retrans;
  uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
  uint32_t segs_out, segs_in;
  uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
  uint64_t delivery_rate, busy_time, rwnd_limited, sndbuf_limited;
  uint32_t delivered, delivered_ce;
  uint64_t bytes_sent, bytes_retrans;
  uint32_t dsack_dups, reord_seen, rcv_ooopack, snd_wnd;
};

static int tcp_info_of(int fd, struct linux_tcp_info *ti) {
  socklen_t l = sizeof(*ti);
  memset(ti, 0, sizeof(*ti));
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l) != 0) return -errno;
  return (int)l;
}

/* TCP_INFO as iperf3 and ss read it: field meanings, never the kernel's exact figures. */
static void case_tcp_info(void) {
  enum { N = 1 << 20 };
  struct linux_tcp_info ci, ai;
  int fd = tcp_socket(), lfd, port, c, a, r;
  socklen_t l;
  unsigned char *buf;
  uint64_t acked0, received0;
  uint32_t segs_out0;
  double t0;
  r = tcp_info_of(fd, &ci);
  SAY("unconnected len %d state %d", r, ci.state);
  {
    unsigned char small[8];
    l = sizeof(small);
    memset(small, 0, sizeof(small));
    r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, small, &l);
    SAY("short buffer %s len %d state %d", r == 0 ? "OK" : ename(errno), (int)l, small[0]);
    l = 104; /* glibc's <netinet/tcp.h> struct tcp_info */
    r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ci, &l);
    SAY("glibc-sized buffer %s len %d", r == 0 ? "OK" : ename(errno), (int)l);
  }
  close(fd);
  lfd = listener(&port, 8);
  tcp_info_of(lfd, &ci);
  SAY("listener state %d", ci.state);
  c = connect_to(port);
  a = accept_one(lfd);
  r = tcp_info_of(c, &ci);
  tcp_info_of(a, &ai);
  SAY("connected len %d state %d accepted state %d", r, ci.state, ai.state);
  SAY("options timestamps %d sack %d wscale %d", (ci.options & 1) != 0, (ci.options & 2) != 0, (ci.options & 4) != 0);
  SAY("rtt sane %d rttvar sane %d rto at least 200ms %d", ci.rtt > 0 && ci.rtt < 1000000, ci.rttvar < 1000000,
      ci.rto >= 200000 && ci.rto <= 120000000);
  SAY("snd_mss sane %d rcv_mss sane %d advmss sane %d pmtu covers mss %d", ci.snd_mss >= 88 && ci.snd_mss <= 65495,
      ci.rcv_mss >= 88 && ci.rcv_mss <= 65495, ci.advmss >= 88 && ci.advmss <= 65495, ci.pmtu >= ci.snd_mss + 40);
  SAY("cwnd sane %d ssthresh initial %d", ci.snd_cwnd >= 1 && ci.snd_cwnd < 100000, ci.snd_ssthresh == 0x7fffffff);
  SAY("idle unacked %d total_retrans %d", ci.unacked, ci.total_retrans);
  acked0 = ci.bytes_acked;
  received0 = ai.bytes_received;
  segs_out0 = ci.segs_out;
  buf = malloc(N);
  fill_pattern(buf, N, 3);
  if (fork() == 0) {
    write_all(c, buf, N);
    _exit(0);
  }
  {
    unsigned char *in = malloc(N);
    SAY("received %zd", read_full(a, in, N));
    free(in);
  }
  wait(NULL);
  /* The receiver has everything; the sender learns so from the ACKs that follow. */
  t0 = now_s();
  do {
    tcp_info_of(c, &ci);
    if (ci.bytes_acked >= acked0 + N && ci.unacked == 0) break;
    usleep(10000);
  } while (now_s() - t0 < 20);
  tcp_info_of(a, &ai);
  SAY("bytes_acked grew by the transfer %d unacked %d",
      ci.bytes_acked >= acked0 + N && ci.bytes_acked <= acked0 + N + 1, ci.unacked);
  SAY("bytes_received grew by the transfer %d",
      ai.bytes_received >= received0 + N && ai.bytes_received <= received0 + N + 1);
  SAY("segs_out grew %d segs_in grew %d", ci.segs_out > segs_out0 + N / 65536, ai.segs_in > N / 65536);
  SAY("rtt still sane %d cwnd sane %d", ci.rtt > 0 && ci.rtt < 1000000, ci.snd_cwnd >= 1 && ci.snd_cwnd < 100000);
  close(a);
  t0 = now_s();
  do {
    tcp_info_of(c, &ci);
    if (ci.state != 1) break;
    usleep(10000);
  } while (now_s() - t0 < 20);
  SAY("after the peer closed state %d", ci.state);
  /* Both directions finished: the socket is closed but still reports what the connection did. */
  shutdown(c, SHUT_WR);
  t0 = now_s();
  do {
    tcp_info_of(c, &ci);
    if (ci.state == 7) break;
    usleep(10000);
  } while (now_s() - t0 < 20);
  SAY("after both closed state %d still counts bytes_acked %d tos %d", ci.state, ci.bytes_acked >= acked0 + N,
      get_int_opt(c, IPPROTO_IP, IP_TOS));
  free(buf);
  close(c);
  close(lfd);
}

/* Linux's struct tcp_bbr_info (TCP_CC_INFO for bbr). */
struct linux_bbr_info {
  uint32_t bw_lo, bw_hi, min_rtt, pacing_gain, cwnd_gain;
};

static int set_cc(int fd, const char *name) {
  return setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, (socklen_t)strlen(name));
}

static int cc_info_of(int fd, struct linux_bbr_info *bi) {
  unsigned char raw[64];
  socklen_t l = sizeof(raw);
  memset(bi, 0, sizeof(*bi));
  if (getsockopt(fd, IPPROTO_TCP, 26 /* TCP_CC_INFO */, raw, &l) != 0) return -errno;
  memcpy(bi, raw, l < sizeof(*bi) ? l : sizeof(*bi));
  return (int)l;
}

/* A connected pair with `algo` on the sending end, after 1 MiB moved; prints what TCP_CC_INFO and
 * TCP_INFO's rates say (field meanings: the figures are the path's, never the same). */
static void cc_info_after_transfer(const char *algo) {
  enum { N = 1 << 20 };
  struct linux_tcp_info ci;
  struct linux_bbr_info bi;
  int lfd, port, c, a, r;
  unsigned char *buf = malloc(N), *in = malloc(N);
  lfd = listener(&port, 8);
  c = tcp_socket();
  SAY("%s set %s", algo, RES(set_cc(c, algo)));
  r = cc_info_of(c, &bi);
  SAY("%s unconnected cc_info len %d", algo, r);
  {
    struct sockaddr_in sa = mkaddr(host_addr, port);
    SAY("%s connect %s", algo, RES(connect(c, (struct sockaddr *)&sa, sizeof(sa))));
  }
  a = accept_one(lfd);
  fill_pattern(buf, N, 5);
  if (fork() == 0) {
    write_all(c, buf, N);
    _exit(0);
  }
  SAY("%s received %zd", algo, read_full(a, in, N));
  wait(NULL);
  r = cc_info_of(c, &bi);
  SAY("%s cc_info len %d", algo, r);
  if (r > 0)
    SAY("%s bw > 0 %d min_rtt set %d gains are BBR_UNIT fixed point %d %d", algo, bi.bw_lo != 0 || bi.bw_hi != 0,
        bi.min_rtt != 0xffffffffu && bi.min_rtt < 1000000,
        bi.pacing_gain == 739 || bi.pacing_gain == 88 || bi.pacing_gain == 320 || bi.pacing_gain == 192 ||
            bi.pacing_gain == 256,
        bi.cwnd_gain == 739 || bi.cwnd_gain == 512 || bi.cwnd_gain == 256);
  tcp_info_of(c, &ci);
  SAY("%s pacing_rate > 0 %d max_pacing_rate unlimited %d", algo, ci.pacing_rate > 0, ci.max_pacing_rate == ~0ull);
  {
    /* a buffer shorter than the struct gets what fits, as the kernel's min(len, size) */
    unsigned char small[8];
    socklen_t l = sizeof(small);
    r = getsockopt(c, IPPROTO_TCP, 26, small, &l);
    SAY("%s short buffer %s len %d", algo, r == 0 ? "OK" : ename(errno), (int)l);
  }
  close(a);
  close(c);
  close(lfd);
  free(buf);
  free(in);
}

/* TCP_CC_INFO (26): struct tcp_bbr_info for bbr, nothing (length 0) for cubic and reno. */
static void case_cc_info(void) {
  cc_info_after_transfer("cubic");
  cc_info_after_transfer("reno");
  cc_info_after_transfer("bbr");
}

static void case_bind(void) {
  int a = tcp_socket(), b = tcp_socket(), c = tcp_socket(), d = tcp_socket();
  struct sockaddr_in sa = mkaddr(host_addr, 0), got;
  socklen_t l = sizeof(got);
  SAY("unbound name %s", RES(getsockname(a, (struct sockaddr *)&got, &l)));
  SAY("unbound port %d addr-any %d", ntohs(got.sin_port), got.sin_addr.s_addr == 0);
  SAY("bind0 %s", RES(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
  l = sizeof(got);
  getsockname(a, (struct sockaddr *)&got, &l);
  SAY("port nonzero %d family %d len %d same-addr %d", got.sin_port != 0, got.sin_family, (int)l,
      got.sin_addr.s_addr == sa.sin_addr.s_addr);
  SAY("rebind %s", RES(bind(a, (struct sockaddr *)&sa, sizeof(sa))));
  listen(a, 4);
  SAY("same port %s", RES(bind(b, (struct sockaddr *)&got, sizeof(got))));
  sa = mkaddr("203.0.113.77", 0);
  SAY("foreign addr %s", RES(bind(c, (struct sockaddr *)&sa, sizeof(sa))));
  SAY("short len %s", RES(bind(d, (struct sockaddr *)&got, 8)));
  sa = mkaddr("0.0.0.0", 0);
  SAY("any %s", RES(bind(d, (struct sockaddr *)&sa, sizeof(sa))));
  SAY("peer of unconnected %s", RES(getpeername(d, (struct sockaddr *)&got, &l)));
  close(a);
  close(b);
  close(c);
  close(d);
}

static void case_connect(void) {
  int port, lfd = listener(&port, 8), fd, r, e;
  struct sockaddr_in sa;
  struct pollfd p;
  double t0;
  close(lfd); /* now nobody listens on `port` */
  fd = tcp_socket();
  sa = mkaddr(host_addr, port);
  t0 = now_s();
  r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  SAY("blocking refused %s fast %d", r == 0 ? "OK" : ename(errno), now_s() - t0 < 1.0);
  close(fd);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  e = errno;
  SAY("nonblocking refused %s", r == 0                                    ? "OK"
                                : (e == EINPROGRESS || e == ECONNREFUSED) ? "EINPROGRESS|ECONNREFUSED"
                                                                          : ename(e));
  if (r != 0 && e == EINPROGRESS) {
    p.fd = fd;
    p.events = POLLOUT;
    poll(&p, 1, 5000);
    SAY("so_error ECONNREFUSED");
    if (get_int_opt(fd, SOL_SOCKET, SO_ERROR) != ECONNREFUSED) SAY("so_error wrong");
  } else {
    SAY("so_error ECONNREFUSED");
  }
  close(fd);

  lfd = listener(&port, 8);
  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sa = mkaddr(host_addr, port);
  r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  SAY("nonblocking %s", r == 0 ? "EINPROGRESS" : ename(errno));
  r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  e = errno;
  /* Still connecting (EALREADY) or just completed (0: the first repeat reports success). */
  SAY("again %s", r == 0 || e == EALREADY ? "OK|EALREADY" : ename(e));
  p.fd = fd;
  p.events = POLLOUT;
  SAY("pollout %d", poll(&p, 1, 5000));
  SAY("so_error %d", get_int_opt(fd, SOL_SOCKET, SO_ERROR));
  {
    int zeros = 0;
    while ((r = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) == 0 && zeros < 3) zeros++;
    SAY("repeat connect succeeds at most once %d then %s", zeros <= 1, ename(errno));
  }
  /* Written before the other side accepted: must arrive. */
  SAY("early write %zd", write(fd, "early", 5));
  {
    int c = accept_one(lfd);
    char buf[8] = {0};
    SAY("early read %zd %s", read_full(c, buf, 5), buf);
    close(c);
  }
  close(fd);
  fd = tcp_socket();
  SAY("bad family %s", RES(connect(fd, (struct sockaddr *)&(struct sockaddr_in6){.sin6_family = AF_INET6},
                                   sizeof(struct sockaddr_in6))));
  close(fd);
  close(lfd);
}

static int client_pid(int port, int count) {
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < count; i++) {
      int fd = connect_to(port);
      char b = (char)('a' + i % 26), r;
      write_all(fd, &b, 1);
      read_full(fd, &r, 1);
      close(fd);
    }
    _exit(0);
  }
  return pid;
}

static void case_accept(void) {
  int port, lfd = listener(&port, 8), c, fd;
  struct sockaddr_in peer, cl;
  socklen_t l;
  char small[4];
  fd = connect_to(port);
  l = sizeof(peer);
  memset(&peer, 0, sizeof(peer));
  c = accept(lfd, (struct sockaddr *)&peer, &l);
  {
    socklen_t l2 = sizeof(cl);
    getsockname(fd, (struct sockaddr *)&cl, &l2);
  }
  SAY("accept ok %d len %d family %d peer-matches %d", c >= 0, (int)l, peer.sin_family,
      peer.sin_port == cl.sin_port && peer.sin_addr.s_addr == cl.sin_addr.s_addr);
  {
    struct sockaddr_in pn, sn;
    socklen_t a = sizeof(pn), b = sizeof(sn);
    getpeername(c, (struct sockaddr *)&pn, &a);
    getsockname(c, (struct sockaddr *)&sn, &b);
    struct sockaddr_in cpn;
    socklen_t cc = sizeof(cpn);
    getpeername(fd, (struct sockaddr *)&cpn, &cc);
    SAY("names consistent %d %d", pn.sin_port == cl.sin_port,
        cpn.sin_port == sn.sin_port && cpn.sin_port == htons(port));
  }
  SAY("new fd nonblock %d", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0);
  close(c);
  close(fd);

  fd = connect_to(port);
  l = sizeof(small);
  memset(small, 0x55, sizeof(small));
  c = accept(lfd, (struct sockaddr *)small, &l);
  SAY("short addrlen ok %d len %d family-byte %d", c >= 0, (int)l, small[0] == AF_INET);
  close(c);
  close(fd);

  fd = connect_to(port);
  c = accept(lfd, NULL, NULL);
  SAY("null addr ok %d", c >= 0);
  close(c);
  close(fd);

  fd = connect_to(port);
  c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  SAY("accept4 nonblock %d cloexec %d listener-nonblock %d listener-cloexec %d", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0,
      (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0,
      (fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
  {
    char b;
    SAY("nonblocking read empty %s", RES(read(c, &b, 1)));
  }
  close(c);
  close(fd);
  SAY("accept4 bad flags %s", RES(accept4(lfd, NULL, NULL, 0x1)));

  fcntl(lfd, F_SETFL, O_NONBLOCK);
  SAY("nonblocking accept empty %s", RES(accept(lfd, NULL, NULL)));
  fcntl(lfd, F_SETFL, 0);
  {
    int s = tcp_socket();
    SAY("accept on unlistened %s", RES(accept(s, NULL, NULL)));
    close(s);
  }
  /* syscall() path, as libuv uses it. */
  fd = connect_to(port);
  c = (int)syscall(SYS_accept4, lfd, NULL, NULL, SOCK_CLOEXEC);
  SAY("syscall accept4 ok %d cloexec %d", c >= 0, c >= 0 && (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
  close(c);
  close(fd);
  close(lfd);
}

static void on_alarm(int sig) { (void)sig; }

static void case_eintr(void) {
  int port, lfd = listener(&port, 8);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  SAY("blocking accept interrupted %s", RES(accept(lfd, NULL, NULL)));
  close(lfd);
}

static void case_readiness(void) {
  int port, lfd = listener(&port, 8), fd, ep, n;
  struct pollfd p = {.fd = lfd, .events = POLLIN};
  struct epoll_event ev = {.events = EPOLLIN}, out[4];
  fd_set rs;
  struct timeval tv = {0, 0};
  SAY("idle poll %d", poll(&p, 1, 50));
  fd = connect_to(port);
  SAY("poll %d revents-in %d", poll(&p, 1, 2000), (p.revents & POLLIN) != 0);
  FD_ZERO(&rs);
  FD_SET(lfd, &rs);
  tv.tv_sec = 2;
  SAY("select %d", select(lfd + 1, &rs, NULL, NULL, &tv));
  ep = epoll_create1(0);
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  n = epoll_wait(ep, out, 4, 2000);
  SAY("epoll lt %d", n);
  n = epoll_wait(ep, out, 4, 50);
  SAY("epoll lt again %d", n);
  close(ep);
  ep = epoll_create1(0);
  ev.events = EPOLLIN | EPOLLET;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  SAY("epoll et %d", epoll_wait(ep, out, 4, 2000));
  SAY("epoll et again %d", epoll_wait(ep, out, 4, 50));
  close(accept_one(lfd));
  close(fd);
  fd = connect_to(port);
  SAY("epoll et new %d", epoll_wait(ep, out, 4, 2000));
  close(accept_one(lfd));
  close(fd);
  close(ep);
  /* connected socket: readable on data, EPOLLRDHUP on half-close */
  fd = connect_to(port);
  {
    int c = accept_one(lfd);
    ep = epoll_create1(0);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    SAY("conn idle %d", epoll_wait(ep, out, 4, 50));
    write_all(fd, "x", 1);
    n = epoll_wait(ep, out, 4, 2000);
    SAY("conn data %d in %d rdhup %d", n, (out[0].events & EPOLLIN) != 0, (out[0].events & EPOLLRDHUP) != 0);
    {
      char b;
      read(c, &b, 1);
    }
    shutdown(fd, SHUT_WR);
    n = epoll_wait(ep, out, 4, 2000);
    SAY("conn halfclose %d in %d rdhup %d", n, (out[0].events & EPOLLIN) != 0, (out[0].events & EPOLLRDHUP) != 0);
    close(ep);
    close(c);
  }
  close(fd);
  close(lfd);
}

static void case_multiproc(int exclusive) {
  int port, lfd = listener(&port, 64), i, total = 0;
  int pipes[3][2];
  pid_t kids[3];
  for (i = 0; i < 3; i++) {
    pipe(pipes[i]);
    kids[i] = fork();
    if (kids[i] == 0) {
      int ep = epoll_create1(0), served = 0;
      struct epoll_event ev = {.events = EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0)}, out;
      ev.data.fd = lfd;
      epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
      fcntl(lfd, F_SETFL, O_NONBLOCK);
      for (;;) {
        int n = epoll_wait(ep, &out, 1, 1500);
        if (n <= 0) break;
        for (;;) {
          int c = accept(lfd, NULL, NULL);
          char b;
          if (c < 0) break;
          if (read_full(c, &b, 1) == 1) write_all(c, &b, 1);
          close(c);
          served++;
        }
      }
      write(pipes[i][1], &served, sizeof(served));
      _exit(0);
    }
    close(pipes[i][1]);
  }
  {
    pid_t c1 = client_pid(port, 20), c2 = client_pid(port, 20);
    waitpid(c1, NULL, 0);
    waitpid(c2, NULL, 0);
  }
  for (i = 0; i < 3; i++) {
    int s = 0;
    read(pipes[i][0], &s, sizeof(s));
    total += s;
    waitpid(kids[i], NULL, 0);
  }
  SAY("served %d", total);
  close(lfd);
}

struct thread_arg {
  int port;
  int ok;
};

static void *thread_client(void *p) {
  struct thread_arg *a = p;
  for (int i = 0; i < 10; i++) {
    int fd = connect_to(a->port), v = 1;
    char buf[64], back[64];
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
    snprintf(buf, sizeof(buf), "thread message %d", i);
    write_all(fd, buf, strlen(buf));
    shutdown(fd, SHUT_WR);
    if (read_full(fd, back, sizeof(back)) == (ssize_t)strlen(buf) && memcmp(buf, back, strlen(buf)) == 0) a->ok++;
    close(fd);
  }
  return NULL;
}

static void *thread_server(void *p) {
  int lfd = *(int *)p;
  for (;;) {
    char buf[64];
    ssize_t n;
    int c = accept(lfd, NULL, NULL);
    if (c < 0) return NULL;
    n = read_full(c, buf, sizeof(buf));
    if (n > 0) write_all(c, buf, (size_t)n);
    close(c);
  }
}

static void case_threads(void) {
  int port, lfd = listener(&port, 64), ok = 0, i;
  pthread_t srv[4], cli[8];
  struct thread_arg args[8];
  for (i = 0; i < 4; i++) pthread_create(&srv[i], NULL, thread_server, &lfd);
  for (i = 0; i < 8; i++) {
    args[i].port = port;
    args[i].ok = 0;
    pthread_create(&cli[i], NULL, thread_client, &args[i]);
  }
  for (i = 0; i < 8; i++) {
    pthread_join(cli[i], NULL);
    ok += args[i].ok;
  }
  SAY("echoes %d", ok);
  shutdown(lfd, SHUT_RDWR);
  _exit(0);
}

static void *rpc_loop(void *p) {
  volatile int *stop = p;
  while (!*stop) {
    int fd = tcp_socket(), v = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
    close(fd);
  }
  return NULL;
}

static void case_fork(void) {
  int port, lfd = listener(&port, 16), i, good = 0;
  volatile int stop = 0;
  pthread_t t[3];
  for (i = 0; i < 3; i++) pthread_create(&t[i], NULL, rpc_loop, (void *)&stop);
  for (i = 0; i < 10; i++) {
    int st;
    pid_t pid = fork();
    if (pid == 0) {
      /* The child has its own control channel: socket calls work here. */
      int fd = connect_to(port);
      write_all(fd, "k", 1);
      close(fd);
      _exit(0);
    }
    {
      int c = accept_one(lfd);
      char b = 0;
      if (read_full(c, &b, 1) == 1 && b == 'k') good++;
      close(c);
    }
    waitpid(pid, &st, 0);
  }
  stop = 1;
  for (i = 0; i < 3; i++) pthread_join(t[i], NULL);
  SAY("forked children connected %d", good);
  close(lfd);
}

static void case_dup(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd), d, saved;
  char buf[16] = {0};
  FILE *f;
  d = dup(fd);
  close(fd); /* one of two dups: the socket lives on */
  SAY("write via dup %zd", write(d, "abc", 3));
  SAY("read %zd", read_full(c, buf, 3));
  saved = dup(1);
  dup2(d, 1); /* socket onto stdout */
  {
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    int r = getpeername(1, (struct sockaddr *)&a, &l);
    int t = get_int_opt(1, SOL_SOCKET, SO_TYPE);
    write(1, "on-stdout", 9);
    dup2(saved, 1);
    close(saved);
    SAY("fd1 peer %s type %d", r == 0 ? "OK" : ename(errno), t);
  }
  memset(buf, 0, sizeof(buf));
  SAY("read %zd %s", read_full(c, buf, 9), buf);
  fd = dup3(d, 40, O_CLOEXEC);
  SAY("dup3 cloexec %d domain %d", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, get_int_opt(fd, SOL_SOCKET, SO_DOMAIN));
  close(fd);
  f = fdopen(d, "w");
  fprintf(f, "via-stdio");
  fclose(f); /* closes the last copy: the peer sees the end */
  memset(buf, 0, sizeof(buf));
  SAY("stdio %zd %s", read_full(c, buf, sizeof(buf)), buf);
  close(c);
  /* fd reuse: a new socket takes the freed number and is a fresh socket */
  fd = tcp_socket();
  SAY("fresh socket peer %s", RES(getpeername(fd, (struct sockaddr *)&(struct sockaddr_in){0}, &(socklen_t){16})));
  close(fd);
  close(lfd);
}

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0) n++;
  return n;
}

static void *short_lived(void *p) {
  int port = *(int *)p, fd = connect_to(port), v = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
  write_all(fd, "t", 1);
  close(fd);
  return NULL;
}

/* Threads that make socket calls and exit leave no descriptors behind. */
static void case_thread_exit(void) {
  int port, lfd = listener(&port, 64), before, i, got = 0;
  close(connect_to(port));
  close(accept_one(lfd));
  before = count_fds();
  for (i = 0; i < 40; i++) {
    pthread_t t;
    char b;
    pthread_create(&t, NULL, short_lived, &port);
    int c = accept_one(lfd);
    if (read_full(c, &b, 1) == 1) got++;
    close(c);
    pthread_join(t, NULL);
  }
  SAY("threads connected %d fds leaked %d", got, count_fds() - before);
  close(lfd);
}

static void case_close_range(void) {
  int port, lfd = listener(&port, 8), fd, c;
  char b = 0;
  /* Close everything above stderr, as daemonizing programs do (the shim's channel included). */
  syscall(SYS_close_range, 3, ~0u, 0);
  lfd = listener(&port, 8);
  fd = connect_to(port);
  c = accept_one(lfd);
  write_all(fd, "r", 1);
  {
    ssize_t n = read_full(c, &b, 1);
    SAY("after close_range %zd %c", n, b);
  }
  close(c);
  close(fd);
  close(lfd);
}

static void case_daemon(void) {
  int p[2], port, lfd;
  pipe(p);
  if (fork() == 0) {
    char ok = 'n';
    close(p[0]);
    if (daemon(1, 1) == 0) {
      int fd, c;
      char b = 0;
      lfd = listener(&port, 8);
      fd = connect_to(port);
      c = accept_one(lfd);
      write_all(fd, "d", 1);
      if (read_full(c, &b, 1) == 1 && b == 'd') ok = 'y';
    }
    write(p[1], &ok, 1);
    _exit(0);
  }
  close(p[1]);
  {
    char ok = 0;
    read(p[0], &ok, 1);
    SAY("daemon child sockets %c", ok);
  }
}

static void case_exec(const char *self) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd);
  pid_t pid;
  char buf[32] = {0};
  int st;
  pid = fork();
  if (pid == 0) {
    char num[16];
    dup2(fd, 5);
    snprintf(num, sizeof(num), "%d", 5);
    execl(self, self, "exec-child", host_addr, num, (char *)NULL);
    _exit(99);
  }
  waitpid(pid, &st, 0);
  SAY("exec child %d read %zd %s", WEXITSTATUS(st), read_full(c, buf, 11), buf);
  close(fd);
  close(c);
  close(lfd);
}

/* A listener survives exec (nginx binary upgrade, systemd LISTEN_FDS): the new image accepts on it. */
static void case_exec_listener(const char *self) {
  int port, lfd = listener(&port, 8), fd, st;
  char b = 0;
  pid_t pid = fork();
  if (pid == 0) {
    char num[16];
    dup2(lfd, 7);
    snprintf(num, sizeof(num), "%d", 7);
    execl(self, self, "exec-accept", host_addr, num, (char *)NULL);
    _exit(99);
  }
  fd = connect_to(port);
  write_all(fd, "q", 1);
  {
    ssize_t n = read_full(fd, &b, 1);
    SAY("answer from exec'd acceptor %zd %c", n, b);
  }
  waitpid(pid, &st, 0);
  SAY("acceptor exit %d", WEXITSTATUS(st));
  close(fd);
  close(lfd);
}

static void case_exec_accept(int lfd) {
  struct sockaddr_in a;
  socklen_t l = sizeof(a);
  int c = accept4(lfd, (struct sockaddr *)&a, &l, SOCK_CLOEXEC);
  char b = 0;
  if (c < 0) _exit(1);
  if (read_full(c, &b, 1) != 1 || b != 'q') _exit(2);
  write_all(c, get_int_opt(lfd, SOL_SOCKET, SO_ACCEPTCONN) == 1 && a.sin_family == AF_INET ? "y" : "n", 1);
  close(c);
  _exit(0);
}

static void case_exec_child(int fd) {
  struct sockaddr_in a;
  socklen_t l = sizeof(a);
  int r = getpeername(fd, (struct sockaddr *)&a, &l), v = 1;
  int s = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
  write_all(fd, "inherited!", 10);
  write_all(fd, r == 0 && s == 0 && get_int_opt(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET ? "y" : "n", 1);
  _exit(0);
}

static void case_transfer(void) {
  enum { N = 8 << 20 };
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd);
  pid_t pid = fork();
  if (pid == 0) {
    /* child: sends N bytes on c and reads N bytes from c at the same time (via a thread) */
    unsigned char *buf = malloc(N);
    fill_pattern(buf, N, 7);
    if (fork() == 0) {
      uint64_t h = FNV_INIT;
      unsigned char tmp[65536];
      ssize_t n, total = 0;
      while ((n = read(c, tmp, sizeof(tmp))) > 0) {
        h = fnv(h, tmp, (size_t)n);
        total += n;
      }
      printf("server got %zd hash %016llx\n", total, (unsigned long long)h);
      fflush(stdout);
      _exit(0);
    }
    write_all(c, buf, N);
    shutdown(c, SHUT_WR);
    wait(NULL);
    _exit(0);
  }
  close(c);
  {
    unsigned char *buf = malloc(N), tmp[65536];
    uint64_t h = FNV_INIT;
    ssize_t n, total = 0;
    pid_t w;
    fill_pattern(buf, N, 9);
    w = fork();
    if (w == 0) {
      write_all(fd, buf, N);
      shutdown(fd, SHUT_WR);
      _exit(0);
    }
    while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
      h = fnv(h, tmp, (size_t)n);
      total += n;
    }
    waitpid(w, NULL, 0);
    waitpid(pid, NULL, 0);
    printf("client got %zd hash %016llx\n", total, (unsigned long long)h);
    fill_pattern(buf, N, 7);
    printf("expected hash %016llx\n", (unsigned long long)fnv(FNV_INIT, buf, N));
    fill_pattern(buf, N, 9);
    printf("expected server hash %016llx\n", (unsigned long long)fnv(FNV_INIT, buf, N));
  }
  close(fd);
  close(lfd);
}

static void case_stream_misc(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd), n;
  char buf[64] = {0};
  struct pollfd p;
  write_all(fd, "peekaboo", 8);
  p.fd = c;
  p.events = POLLIN;
  poll(&p, 1, 2000);
  usleep(50000);
  ioctl(c, FIONREAD, &n);
  SAY("fionread %d", n);
  SAY("peek %zd", recv(c, buf, 4, MSG_PEEK));
  SAY("read %zd %s", read(c, buf, sizeof(buf) - 1), buf);
  /* sendto with an address on a connected socket: TCP ignores it */
  {
    struct sockaddr_in a = mkaddr(host_addr, port);
    SAY("sendto %zd", sendto(fd, "st", 2, 0, (struct sockaddr *)&a, sizeof(a)));
    memset(buf, 0, sizeof(buf));
    SAY("got %zd", read_full(c, buf, 2));
  }
  /* sendfile from a file */
  {
    char path[] = "/tmp/zt-sendfile-XXXXXX";
    int f = mkstemp(path);
    unsigned char data[100000], got[100000];
    off_t off = 0;
    fill_pattern(data, sizeof(data), 3);
    write_all(f, data, sizeof(data));
    unlink(path);
    size_t left = sizeof(data);
    while (left > 0) {
      ssize_t s = sendfile(fd, f, &off, left);
      if (s <= 0) break;
      left -= (size_t)s;
    }
    SAY("sendfile %d match %d", (int)off,
        read_full(c, got, sizeof(got)) == (ssize_t)sizeof(got) && memcmp(data, got, sizeof(got)) == 0);
    close(f);
  }
  /* data written just before close arrives, then the end */
  write_all(fd, "last words", 10);
  close(fd);
  memset(buf, 0, sizeof(buf));
  SAY("before close %zd %s", read_full(c, buf, sizeof(buf) - 1), buf);
  SAY("then eof %zd", read(c, buf, 1));
  /* EPIPE: the peer is gone; MSG_NOSIGNAL keeps SIGPIPE away */
  signal(SIGPIPE, SIG_IGN);
  usleep(100000);
  {
    ssize_t w1 = send(c, "x", 1, MSG_NOSIGNAL);
    usleep(100000);
    ssize_t w2 = send(c, "x", 1, MSG_NOSIGNAL);
    int e = errno;
    SAY("write to closed peer eventually %s", w1 < 0 || w2 < 0 ? ename(e) : "OK");
  }
  close(c);
  close(lfd);
}

/* SO_REUSEADDR (a port held by TIME_WAIT) and SO_REUSEPORT (several listeners on one port). */
static void case_reuse(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd), one = 1, i, got = 0;
  int a, b, x;
  char buf[4];
  struct sockaddr_in sa;
  /* The server closes first, so its side of the connection holds the port in TIME_WAIT. */
  close(c);
  SAY("eof %zd", read(fd, buf, sizeof(buf)));
  close(fd);
  close(lfd);
  usleep(50000);
  sa = mkaddr(host_addr, port);
  x = tcp_socket();
  SAY("time-wait port without reuseaddr %s", RES(bind(x, (struct sockaddr *)&sa, sizeof(sa))));
  close(x);
  x = tcp_socket();
  setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  {
    const char *rb = RES(bind(x, (struct sockaddr *)&sa, sizeof(sa)));
    SAY("time-wait port with reuseaddr %s listen %s", rb, RES(listen(x, 8)));
  }
  close(x);

  a = tcp_socket();
  b = tcp_socket();
  setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sa = mkaddr(host_addr, 0);
  if (bind(a, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("bind");
  {
    socklen_t l = sizeof(sa);
    getsockname(a, (struct sockaddr *)&sa, &l);
  }
  SAY("reuseport listen %s", RES(listen(a, 16)));
  {
    const char *rb = RES(bind(b, (struct sockaddr *)&sa, sizeof(sa)));
    SAY("reuseport second bind %s listen %s", rb, RES(listen(b, 16)));
  }
  x = tcp_socket();
  SAY("third without reuseport %s", RES(bind(x, (struct sockaddr *)&sa, sizeof(sa))));
  close(x);
  x = tcp_socket();
  setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  SAY("reuseaddr against listeners %s", RES(bind(x, (struct sockaddr *)&sa, sizeof(sa))));
  close(x);
  x = tcp_socket();
  setsockopt(x, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  SAY("third with reuseport %s", RES(bind(x, (struct sockaddr *)&sa, sizeof(sa))));
  close(x);
  /* Every connection lands on one of the two listeners. */
  fcntl(a, F_SETFL, O_NONBLOCK);
  fcntl(b, F_SETFL, O_NONBLOCK);
  {
    int fds[12];
    for (i = 0; i < 12; i++) fds[i] = connect_to(ntohs(sa.sin_port));
    for (i = 0; i < 100 && got < 12; i++) {
      struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
      poll(p, 2, 100);
      for (int k = 0; k < 2; k++) {
        int n;
        while ((n = accept(k ? b : a, NULL, NULL)) >= 0) {
          close(n);
          got++;
        }
      }
    }
    SAY("reuseport accepted %d", got);
    for (i = 0; i < 12; i++) close(fds[i]);
  }
  close(a);
  close(b);
}

/* Calls on a socket whose connection has finished (cleanly, or by a reset) while the app holds it. */
static void case_after_end(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd), v = 1;
  struct sockaddr_in before, a;
  socklen_t l = sizeof(before);
  char b;
  getsockname(fd, (struct sockaddr *)&before, &l);
  shutdown(fd, SHUT_WR);
  SAY("peer sees eof %zd", read(c, &b, 1));
  close(c);
  SAY("eof %zd", read(fd, &b, 1));
  l = sizeof(a);
  memset(&a, 0, sizeof(a));
  {
    int r = getsockname(fd, (struct sockaddr *)&a, &l);
    SAY("ended name %s same %d", r == 0 ? "OK" : ename(errno),
        a.sin_port == before.sin_port && a.sin_addr.s_addr == before.sin_addr.s_addr);
  }
  l = sizeof(a);
  SAY("ended peer %s", RES(getpeername(fd, (struct sockaddr *)&a, &l)));
  {
    const char *r = RES(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
    SAY("ended nodelay set %s get %d", r, get_int_opt(fd, IPPROTO_TCP, TCP_NODELAY));
  }
  SAY("ended so_error %d", get_int_opt(fd, SOL_SOCKET, SO_ERROR));
  SAY("ended shutdown %s", RES(shutdown(fd, SHUT_RDWR)));
  close(fd);

  /* The peer closes with data unread: a reset ends the connection. */
  fd = connect_to(port);
  c = accept_one(lfd);
  write_all(fd, "unread", 6);
  usleep(100000);
  close(c);
  {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    SAY("reset noticed %d", poll(&p, 1, 5000));
  }
  usleep(50000);
  l = sizeof(a);
  SAY("reset peer %s", RES(getpeername(fd, (struct sockaddr *)&a, &l)));
  l = sizeof(a);
  SAY("reset name %s", RES(getsockname(fd, (struct sockaddr *)&a, &l)));
  SAY("reset nodelay %s", RES(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v))));
  {
    int first = get_int_opt(fd, SOL_SOCKET, SO_ERROR);
    SAY("reset so_error %s then %d", ename(first), get_int_opt(fd, SOL_SOCKET, SO_ERROR));
  }
  close(fd);
  close(lfd);
}

static void case_reset(void) {
  int port, lfd = listener(&port, 8), fd = connect_to(port), c = accept_one(lfd);
  char buf[8];
  write_all(fd, "unread", 6);
  usleep(100000);
  close(c); /* closing with unread data: the kernel sends RST */
  usleep(100000);
  ssize_t r = read(fd, buf, sizeof(buf));
  SAY("read after peer reset %s", r < 0 ? ename(errno) : r == 0 ? "EOF" : "DATA");
  close(fd);
  close(lfd);
}

static void case_backlog(void) {
  int port, lfd = listener(&port, 2), i, done = 0;
  int fds[4];
  for (i = 0; i < 4; i++) {
    struct sockaddr_in a = mkaddr(host_addr, port);
    fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fds[i], (struct sockaddr *)&a, sizeof(a));
  }
  usleep(200000);
  /* Accepting later still gets the first connections; nothing hangs. */
  fcntl(lfd, F_SETFL, O_NONBLOCK);
  for (i = 0; i < 2; i++) {
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) {
      done++;
      close(c);
    }
  }
  SAY("accepted later %d", done);
  for (i = 0; i < 4; i++) close(fds[i]);
  close(lfd);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "";
  if (argc > 2) host_addr = argv[2];
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!strcmp(which, "flags"))
    case_flags();
  else if (!strcmp(which, "options"))
    case_options();
  else if (!strcmp(which, "ip-options"))
    case_ip_options();
  else if (!strcmp(which, "posted-options"))
    case_posted_options();
  else if (!strcmp(which, "tcp-info"))
    case_tcp_info();
  else if (!strcmp(which, "cc-info"))
    case_cc_info();
  else if (!strcmp(which, "fastopen-sendto"))
    case_fastopen_sendto();
  else if (!strcmp(which, "bind"))
    case_bind();
  else if (!strcmp(which, "connect"))
    case_connect();
  else if (!strcmp(which, "accept"))
    case_accept();
  else if (!strcmp(which, "eintr"))
    case_eintr();
  else if (!strcmp(which, "readiness"))
    case_readiness();
  else if (!strcmp(which, "multiproc"))
    case_multiproc(0);
  else if (!strcmp(which, "multiproc-exclusive"))
    case_multiproc(1);
  else if (!strcmp(which, "threads"))
    case_threads();
  else if (!strcmp(which, "fork"))
    case_fork();
  else if (!strcmp(which, "dup"))
    case_dup();
  else if (!strcmp(which, "close-range"))
    case_close_range();
  else if (!strcmp(which, "daemon"))
    case_daemon();
  else if (!strcmp(which, "exec"))
    case_exec(argv[0]);
  else if (!strcmp(which, "exec-child"))
    case_exec_child(atoi(argv[3]));
  else if (!strcmp(which, "exec-listener"))
    case_exec_listener(argv[0]);
  else if (!strcmp(which, "exec-accept"))
    case_exec_accept(atoi(argv[3]));
  else if (!strcmp(which, "transfer"))
    case_transfer();
  else if (!strcmp(which, "stream"))
    case_stream_misc();
  else if (!strcmp(which, "reset"))
    case_reset();
  else if (!strcmp(which, "reuse"))
    case_reuse();
  else if (!strcmp(which, "after-end"))
    case_after_end();
  else if (!strcmp(which, "thread-exit"))
    case_thread_exit();
  else if (!strcmp(which, "backlog"))
    case_backlog();
  else {
    fprintf(stderr, "unknown case %s\n", which);
    return 2;
  }
  return 0;
}
