/*
 * Name lookups as a program makes them, one call per command, printing what it got in a stable
 * text form: the same output is expected under libztintercept.so (names from the test's daemon
 * stand-in) and under plain glibc (names from a DNS server with the same table, in a namespace).
 *
 *   names gai <node|-> [service|-] [unspec|inet|inet6] [socktype 0|stream|dgram] [flag…]
 *         flags: passive canon numerichost v4mapped all addrconfig numericserv
 *   names ghbn <name> | ghbn2 <name> <inet|inet6> | ghbn_r <name> | ghbn2_r <name> <inet|inet6> [buflen]
 *   names ghba <addr> | ghba_r <addr>
 *   names gni <addr> [port] [flag…]   flags: namereqd nofqdn numericserv dgram numerichost
 *   names res_query|res_search|res_nquery|res_nsearch|res_send|res_nsend <name> <a|aaaa|txt|ptr> [buflen]
 *   names res_querydomain|res_nquerydomain <name> <domain> <type> [buflen]
 *   names gai_a <wait|nowait> <name>…  getaddrinfo_a (IPv4, stream); nowait: notified on a thread
 *   names threads <name> <count>     many threads, getaddrinfo and gethostbyname_r at once
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *eai_name(int e) {
  switch (e) {
  case 0:
    return "OK";
  case EAI_NONAME:
    return "EAI_NONAME";
  case EAI_NODATA:
    return "EAI_NODATA";
  case EAI_AGAIN:
    return "EAI_AGAIN";
  case EAI_FAIL:
    return "EAI_FAIL";
  case EAI_FAMILY:
    return "EAI_FAMILY";
  case EAI_SOCKTYPE:
    return "EAI_SOCKTYPE";
  case EAI_SERVICE:
    return "EAI_SERVICE";
  case EAI_BADFLAGS:
    return "EAI_BADFLAGS";
  case EAI_ADDRFAMILY:
    return "EAI_ADDRFAMILY";
  case EAI_OVERFLOW:
    return "EAI_OVERFLOW";
  case EAI_MEMORY:
    return "EAI_MEMORY";
  case EAI_SYSTEM:
    return "EAI_SYSTEM";
  default:
    return "EAI_?";
  }
}

static const char *herr_name(int h) {
  switch (h) {
  case 0:
    return "OK";
  case HOST_NOT_FOUND:
    return "HOST_NOT_FOUND";
  case TRY_AGAIN:
    return "TRY_AGAIN";
  case NO_RECOVERY:
    return "NO_RECOVERY";
  case NO_DATA:
    return "NO_DATA";
  case NETDB_INTERNAL:
    return "NETDB_INTERNAL";
  default:
    return "H_?";
  }
}

static int family_of(const char *s) {
  if (!s || !strcmp(s, "unspec")) return AF_UNSPEC;
  return !strcmp(s, "inet6") ? AF_INET6 : AF_INET;
}

static void print_sockaddr(const struct sockaddr *sa) {
  char text[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const void *)sa;
    printf("%s:%u", inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)), ntohs(in->sin_port));
  } else {
    const struct sockaddr_in6 *in6 = (const void *)sa;
    printf("[%s]:%u", inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)), ntohs(in6->sin6_port));
  }
}

static int cmd_gai(int argc, char **argv) {
  struct addrinfo hints, *res, *p;
  const char *node = argc > 2 && strcmp(argv[2], "-") ? argv[2] : NULL;
  const char *service = argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL;
  int rc, i;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = family_of(argc > 4 ? argv[4] : NULL);
  if (argc > 5)
    hints.ai_socktype = !strcmp(argv[5], "stream") ? SOCK_STREAM : !strcmp(argv[5], "dgram") ? SOCK_DGRAM : 0;
  for (i = 6; i < argc; i++) {
    const char *f = argv[i];
    hints.ai_flags |= !strcmp(f, "passive")       ? AI_PASSIVE
                      : !strcmp(f, "canon")       ? AI_CANONNAME
                      : !strcmp(f, "numerichost") ? AI_NUMERICHOST
                      : !strcmp(f, "v4mapped")    ? AI_V4MAPPED
                      : !strcmp(f, "all")         ? AI_ALL
                      : !strcmp(f, "addrconfig")  ? AI_ADDRCONFIG
                      : !strcmp(f, "numericserv") ? AI_NUMERICSERV
                                                  : 0;
  }
  rc = getaddrinfo(node, service, &hints, &res);
  printf("getaddrinfo %s\n", eai_name(rc));
  if (rc) return 0;
  for (p = res; p; p = p->ai_next) {
    printf("  family %s type %d proto %d ", p->ai_family == AF_INET ? "inet" : "inet6", p->ai_socktype, p->ai_protocol);
    print_sockaddr(p->ai_addr);
    if (p->ai_canonname) printf(" canon %s", p->ai_canonname);
    printf("\n");
  }
  freeaddrinfo(res);
  return 0;
}

static void print_hostent(const char *what, const struct hostent *h) {
  char text[INET6_ADDRSTRLEN];
  char **p;
  if (!h) {
    printf("%s NULL h_errno %s\n", what, herr_name(h_errno));
    return;
  }
  printf("%s name %s type %s len %d\n", what, h->h_name, h->h_addrtype == AF_INET ? "inet" : "inet6", h->h_length);
  for (p = h->h_aliases; *p; p++) printf("  alias %s\n", *p);
  for (p = h->h_addr_list; *p; p++) printf("  addr %s\n", inet_ntop(h->h_addrtype, *p, text, sizeof(text)));
}

static void print_hostent_r(const char *what, int rc, const struct hostent *result, int herr) {
  printf("%s returns %s%s", what,
         rc == 0        ? "0"
         : rc == ERANGE ? "ERANGE"
         : rc == EAGAIN ? "EAGAIN"
                        : "errno?",
         result ? "" : " result NULL");
  if (!result) {
    printf(" h_errno %s\n", herr_name(herr));
    return;
  }
  printf("\n");
  print_hostent("  hostent", result);
}

static int parse_addr(const char *text, unsigned char *bytes, int *af) {
  if (inet_pton(AF_INET, text, bytes) == 1) return *af = AF_INET, 4;
  if (inet_pton(AF_INET6, text, bytes) == 1) return *af = AF_INET6, 16;
  return 0;
}

static int cmd_hostent(int argc, char **argv) {
  const char *cmd = argv[1], *name = argv[2];
  struct hostent he, *result = NULL;
  size_t buflen = 8192;
  char *buf;
  int herr = 0, rc;
  if (!strcmp(cmd, "ghbn")) {
    print_hostent("gethostbyname", gethostbyname(name));
  } else if (!strcmp(cmd, "ghbn2")) {
    print_hostent("gethostbyname2", gethostbyname2(name, family_of(argv[3])));
  } else if (!strcmp(cmd, "ghba") || !strcmp(cmd, "ghba_r")) {
    unsigned char bytes[16];
    int af = 0, len = parse_addr(name, bytes, &af);
    if (!strcmp(cmd, "ghba")) {
      print_hostent("gethostbyaddr", gethostbyaddr(bytes, (socklen_t)len, af));
    } else {
      buf = malloc(buflen);
      rc = gethostbyaddr_r(bytes, (socklen_t)len, af, &he, buf, buflen, &result, &herr);
      print_hostent_r("gethostbyaddr_r", rc, result, herr);
      free(buf);
    }
  } else {
    int two = !strcmp(cmd, "ghbn2_r");
    if (argc > (two ? 4 : 3)) buflen = (size_t)atoi(argv[two ? 4 : 3]);
    buf = malloc(buflen ? buflen : 1);
    if (two)
      rc = gethostbyname2_r(name, family_of(argv[3]), &he, buf, buflen, &result, &herr);
    else
      rc = gethostbyname_r(name, &he, buf, buflen, &result, &herr);
    print_hostent_r(two ? "gethostbyname2_r" : "gethostbyname_r", rc, result, herr);
    free(buf);
  }
  return 0;
}

static int cmd_gni(int argc, char **argv) {
  struct sockaddr_storage ss;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  socklen_t len;
  int flags = 0, i, rc, af = 0;
  unsigned char bytes[16];
  int port = argc > 3 ? atoi(argv[3]) : 0;
  memset(&ss, 0, sizeof(ss));
  if (parse_addr(argv[2], bytes, &af) == 4) {
    struct sockaddr_in *in = (void *)&ss;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, bytes, 4);
    in->sin_port = htons((uint16_t)port);
    len = sizeof(*in);
  } else {
    struct sockaddr_in6 *in6 = (void *)&ss;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, bytes, 16);
    in6->sin6_port = htons((uint16_t)port);
    len = sizeof(*in6);
  }
  for (i = 4; i < argc; i++) {
    const char *f = argv[i];
    flags |= !strcmp(f, "namereqd")      ? NI_NAMEREQD
             : !strcmp(f, "nofqdn")      ? NI_NOFQDN
             : !strcmp(f, "numericserv") ? NI_NUMERICSERV
             : !strcmp(f, "dgram")       ? NI_DGRAM
             : !strcmp(f, "numerichost") ? NI_NUMERICHOST
                                         : 0;
  }
  rc = getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv, sizeof(serv), flags);
  printf("getnameinfo %s", eai_name(rc));
  if (rc == 0) printf(" host %s serv %s", host, serv);
  printf("\n");
  return 0;
}

static int type_of(const char *s) {
  return !strcmp(s, "aaaa") ? ns_t_aaaa : !strcmp(s, "txt") ? ns_t_txt : !strcmp(s, "ptr") ? ns_t_ptr : ns_t_a;
}

/* An answer as text: rcode, TC, counts and each record's type and data (A/AAAA as addresses). */
static void print_answer(const unsigned char *answer, int n, int buflen) {
  ns_msg msg;
  int i, avail = n < buflen ? n : buflen;
  const HEADER *hp = (const void *)answer;
  printf("  rcode %d tc %d ancount %d\n", hp->rcode, hp->tc, ntohs(hp->ancount));
  if (hp->tc || ns_initparse(answer, avail, &msg) != 0) return;
  for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
    ns_rr rr;
    char text[INET6_ADDRSTRLEN];
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) break;
    if (ns_rr_type(rr) == ns_t_a)
      printf("  A %s\n", inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof(text)));
    else if (ns_rr_type(rr) == ns_t_aaaa)
      printf("  AAAA %s\n", inet_ntop(AF_INET6, ns_rr_rdata(rr), text, sizeof(text)));
    else if (ns_rr_type(rr) == ns_t_ptr) {
      char name[NS_MAXDNAME];
      ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), name, sizeof(name));
      printf("  PTR %s\n", name);
    } else
      printf("  type %d rdlen %d\n", ns_rr_type(rr), ns_rr_rdlen(rr));
  }
}

static int cmd_res(int argc, char **argv) {
  const char *cmd = argv[1], *name = argv[2];
  int domain_form = strstr(cmd, "querydomain") != NULL;
  int type = type_of(argv[domain_form ? 4 : 3]);
  int buflen = argc > (domain_form ? 5 : 4) ? atoi(argv[domain_form ? 5 : 4]) : 4096;
  unsigned char *answer = calloc(1, (size_t)buflen), query[1024];
  struct __res_state st;
  int n;
  memset(&st, 0, sizeof(st));
  if (res_ninit(&st) != 0) return printf("res_ninit failed\n"), 0;
  h_errno = 0;
  if (!strcmp(cmd, "res_query"))
    n = res_query(name, ns_c_in, type, answer, buflen);
  else if (!strcmp(cmd, "res_search"))
    n = res_search(name, ns_c_in, type, answer, buflen);
  else if (!strcmp(cmd, "res_querydomain"))
    n = res_querydomain(name, argv[3], ns_c_in, type, answer, buflen);
  else if (!strcmp(cmd, "res_nquery"))
    n = res_nquery(&st, name, ns_c_in, type, answer, buflen);
  else if (!strcmp(cmd, "res_nsearch"))
    n = res_nsearch(&st, name, ns_c_in, type, answer, buflen);
  else if (!strcmp(cmd, "res_nquerydomain"))
    n = res_nquerydomain(&st, name, argv[3], ns_c_in, type, answer, buflen);
  else {
    int qlen = res_mkquery(ns_o_query, name, ns_c_in, type, NULL, 0, NULL, query, sizeof(query));
    n = !strcmp(cmd, "res_send") ? res_send(query, qlen, answer, buflen) : res_nsend(&st, query, qlen, answer, buflen);
  }
  if (n < 0)
    printf("%s -1 h_errno %s\n", cmd, herr_name(h_errno));
  else
    printf("%s %s\n", cmd, n > buflen ? "longer than the buffer" : "fits");
  if (n > 0) print_answer(answer, n, buflen);
  res_nclose(&st);
  free(answer);
  return 0;
}

static sem_t gai_done;

static void on_gai_done(union sigval v) {
  (void)v;
  sem_post(&gai_done);
}

static int cmd_gai_a(int argc, char **argv) {
  struct gaicb reqs[8], *list[8];
  struct addrinfo hints;
  struct sigevent sev;
  int n = argc - 3 > 8 ? 8 : argc - 3, i, rc, nowait = !strcmp(argv[2], "nowait");
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  memset(reqs, 0, sizeof(reqs));
  for (i = 0; i < n; i++) {
    reqs[i].ar_name = argv[3 + i];
    reqs[i].ar_request = &hints;
    list[i] = &reqs[i];
  }
  memset(&sev, 0, sizeof(sev));
  sev.sigev_notify = SIGEV_THREAD;
  sev.sigev_notify_function = on_gai_done;
  sem_init(&gai_done, 0, 0);
  rc = getaddrinfo_a(nowait ? GAI_NOWAIT : GAI_WAIT, list, n, nowait ? &sev : NULL);
  printf("getaddrinfo_a %s\n", eai_name(rc));
  if (nowait) sem_wait(&gai_done);
  for (i = 0; i < n; i++) {
    struct addrinfo *p;
    printf("  %s: %s", reqs[i].ar_name, eai_name(gai_error(&reqs[i])));
    for (p = reqs[i].ar_result; p; p = p->ai_next) {
      printf(" ");
      print_sockaddr(p->ai_addr);
    }
    printf("\n");
    if (reqs[i].ar_result) freeaddrinfo(reqs[i].ar_result);
  }
  return 0;
}

struct thread_job {
  const char *name;
  int ok;
};

static void *thread_main(void *arg) {
  struct thread_job *job = arg;
  int i;
  job->ok = 1;
  for (i = 0; i < 20; i++) {
    struct addrinfo hints, *res;
    struct hostent he, *result;
    char buf[2048];
    int herr;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(job->name, "80", &hints, &res) != 0)
      job->ok = 0;
    else
      freeaddrinfo(res);
    if (gethostbyname_r(job->name, &he, buf, sizeof(buf), &result, &herr) != 0 || !result) job->ok = 0;
  }
  return NULL;
}

static int cmd_threads(const char *name, int count) {
  pthread_t t[64];
  struct thread_job jobs[64];
  int i, ok = 0;
  if (count > 64) count = 64;
  for (i = 0; i < count; i++) {
    jobs[i].name = name;
    pthread_create(&t[i], NULL, thread_main, &jobs[i]);
  }
  for (i = 0; i < count; i++) {
    pthread_join(t[i], NULL);
    ok += jobs[i].ok;
  }
  printf("threads %d of %d answered every lookup\n", ok, count);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3) return fprintf(stderr, "usage: see the comment at the top\n"), 2;
  if (!strcmp(argv[1], "gai")) return cmd_gai(argc, argv);
  if (!strcmp(argv[1], "gai_a")) return cmd_gai_a(argc, argv);
  if (!strncmp(argv[1], "ghb", 3)) return cmd_hostent(argc, argv);
  if (!strcmp(argv[1], "gni")) return cmd_gni(argc, argv);
  if (!strncmp(argv[1], "res_", 4)) return cmd_res(argc, argv);
  if (!strcmp(argv[1], "threads")) return cmd_threads(argv[2], argc > 3 ? atoi(argv[3]) : 8);
  return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
