/*
 * getaddrinfo and getnameinfo under the library. The name part is resolve.c's (/etc/hosts and the
 * daemon, in nsswitch order); everything else — numeric addresses, services, socket types, the
 * result's layout — is the real getaddrinfo's, called with AI_NUMERICHOST on one address and one
 * socket type at a time, so the list is built by glibc itself and the real freeaddrinfo frees it
 * (each entry one allocation, ai_canonname another). One result per real call also keeps glibc
 * from sorting (RFC 3484 sorting opens a kernel UDP socket to each destination).
 *
 * Differences from glibc (2.36): AI_ADDRCONFIG takes both families as configured (the virtual
 * network carries IPv4 and IPv6; the host's interfaces are not asked); an AF_UNSPEC lookup of a
 * name lists its IPv4 addresses before its IPv6 ones, each in the order of their source, with no
 * further RFC 3484 sorting — the order RFC 6724's table gives ZeroTier's unique-local rfc4193 and
 * 6plane addresses (fc00::/7 ranks below IPv4).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolve.h"

#ifndef SOCK_DCCP
#define SOCK_DCCP 6
#endif

/* glibc's deprecated IDN flags (netdb.h's names for them warn when used). */
#define AI_IDN_ALLOW_UNASSIGNED_FLAG 0x0100
#define AI_IDN_USE_STD3_ASCII_RULES_FLAG 0x0200
#define KNOWN_AI_FLAGS                                                                                                 \
  (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_V4MAPPED | AI_ALL | AI_ADDRCONFIG | AI_IDN | AI_CANONIDN |          \
   AI_NUMERICSERV | AI_IDN_ALLOW_UNASSIGNED_FLAG | AI_IDN_USE_STD3_ASCII_RULES_FLAG)

/* Appends list `r` at *tail. */
static void append(struct addrinfo ***tail, struct addrinfo *r) {
  **tail = r;
  while (r->ai_next) r = r->ai_next;
  *tail = &r->ai_next;
}

/* A numeric service (glibc's test: all of it a decimal number): its port, else -1. */
static long numeric_port(const char *service) {
  char *end;
  long v;
  if (service == NULL) return 0;
  v = strtol(service, &end, 10);
  return *service != '\0' && *end == '\0' ? v : -1;
}

/* Puts `port` in every entry of list `r` (raw entries: glibc gives them a numeric service's port). */
static void set_port(struct addrinfo *r, long port) {
  for (; r; r = r->ai_next) {
    if (r->ai_family == AF_INET) ((struct sockaddr_in *)(void *)r->ai_addr)->sin_port = htons((uint16_t)port);
    if (r->ai_family == AF_INET6) ((struct sockaddr_in6 *)(void *)r->ai_addr)->sin6_port = htons((uint16_t)port);
  }
}

/*
 * The real getaddrinfo for one numeric `node` (or NULL) and one family, once per socket type it
 * would expand to (glibc's gaih_inet_typeproto: stream, datagram and raw by default; with a
 * protocol, every type that carries it). Appends the entries; 0, or the error: EAI_SERVICE when
 * every type refused the service, else the first other one. As glibc with no socket type given, a
 * named service leaves raw out and a numeric one gives raw its port.
 */
static int expand(const char *node, const char *service, int flags, int family, int socktype, int protocol,
                  struct addrinfo ***tail) {
  static const int by_default[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW};
  static const int with_protocol[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_DCCP, SOCK_SEQPACKET, SOCK_RAW};
  const int *types = socktype ? &socktype : protocol ? with_protocol : by_default;
  size_t ntypes = socktype ? 1 : protocol ? sizeof(with_protocol) / sizeof(int) : sizeof(by_default) / sizeof(int), i;
  long port = numeric_port(service);
  int other_err = 0, service_err = 0, got = 0;
  for (i = 0; i < ntypes; i++) {
    struct addrinfo h, *r = NULL;
    int rc, raw_of_many = ntypes > 1 && types[i] == SOCK_RAW;
    if (raw_of_many && service != NULL && port < 0) continue;
    memset(&h, 0, sizeof(h));
    h.ai_flags = flags;
    h.ai_family = family;
    h.ai_socktype = types[i];
    h.ai_protocol = protocol;
    if (raw_of_many) {
      /* glibc refuses a service for an explicit raw type: ask without one, on the address that a
       * missing node stands for, and put the port in after. */
      const char *raw_node = node                   ? node
                             : family == AF_INET6   ? ((flags & AI_PASSIVE) ? "::" : "::1")
                             : (flags & AI_PASSIVE) ? "0.0.0.0"
                                                    : "127.0.0.1";
      rc = zt_real_netdb.getaddrinfo(raw_node, NULL, &h, &r);
    } else {
      rc = zt_real_netdb.getaddrinfo(node, service, &h, &r);
    }
    if (rc == 0) {
      if (raw_of_many) set_port(r, port);
      append(tail, r);
      got = 1;
    } else if (rc == EAI_SERVICE) {
      service_err = 1;
    } else if (!other_err) {
      other_err = rc;
    }
  }
  if (got) return 0;
  return other_err ? other_err : service_err ? EAI_SERVICE : EAI_NONAME;
}

/* Only the first entry carries the canonical name, as glibc's list. */
static void keep_first_canonname(struct addrinfo *list) {
  struct addrinfo *p;
  if (!list) return;
  for (p = list->ai_next; p; p = p->ai_next) {
    free(p->ai_canonname);
    p->ai_canonname = NULL;
  }
}

static int herr_to_eai(int herr) {
  switch (herr) {
  case 0:
    return 0;
  case HOST_NOT_FOUND:
    return EAI_NONAME;
  case NO_DATA:
    return EAI_NODATA;
  case TRY_AGAIN:
    return EAI_AGAIN;
  default:
    return EAI_FAIL;
  }
}

/* Of two failed lookups, the error to report: no answer now before no data before no such name. */
static int worse(int a, int b) {
  if (a == TRY_AGAIN || b == TRY_AGAIN) return TRY_AGAIN;
  if (a == NO_DATA || b == NO_DATA) return NO_DATA;
  return a ? a : b;
}

/* Puts a host's IPv4 addresses before its IPv6 ones, each family keeping its order. */
static void ipv4_first(struct zt_host *h) {
  struct zt_host sorted;
  int i, n = 0, pass;
  for (pass = 0; pass < 2; pass++)
    for (i = 0; i < h->count; i++)
      if ((h->addrs[i].family == AF_INET) == (pass == 0)) sorted.addrs[n++] = h->addrs[i];
  memcpy(h->addrs, sorted.addrs, (size_t)n * sizeof(h->addrs[0]));
}

/* The addresses of a name (not numeric) for the request, expanded; 0 or an EAI_* error. */
static int by_name(const char *node, const char *service, int flags, int family, int socktype, int protocol,
                   struct addrinfo **res) {
  struct zt_host h, h4;
  struct addrinfo *head = NULL, **tail = &head;
  int herr, herr4 = 0, i, rc = 0, n = 0, map4 = 0;
  int xflags = AI_NUMERICHOST | (flags & (AI_PASSIVE | AI_NUMERICSERV));
  char text[INET6_ADDRSTRLEN + 8];
  const char *canon;
  herr = zt_lookup_name(node, family, &h);
  if (herr == 0 && family == AF_UNSPEC) ipv4_first(&h);
  if (herr == 0 && h.count == 0) herr = NO_DATA;
  if (family == AF_INET6 && (flags & AI_V4MAPPED) && (herr != 0 || (flags & AI_ALL))) {
    herr4 = zt_lookup_name(node, AF_INET, &h4);
    if (herr4 == 0 && h4.count == 0) herr4 = NO_DATA;
    map4 = herr4 == 0;
  }
  if (herr != 0 && !map4) return herr_to_eai(family == AF_INET6 && (flags & AI_V4MAPPED) ? worse(herr, herr4) : herr);
  for (i = 0; herr == 0 && i < h.count && rc == 0; i++, n++) {
    inet_ntop(h.addrs[i].family, h.addrs[i].bytes, text, sizeof(text));
    rc = expand(text, service, xflags, h.addrs[i].family, socktype, protocol, &tail);
  }
  for (i = 0; map4 && i < h4.count && rc == 0; i++, n++) {
    char v4[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, h4.addrs[i].bytes, v4, sizeof(v4));
    snprintf(text, sizeof(text), "::ffff:%s", v4);
    rc = expand(text, service, xflags, AF_INET6, socktype, protocol, &tail);
  }
  if (rc != 0 || head == NULL) {
    if (head) freeaddrinfo(head);
    return rc ? rc : EAI_NODATA;
  }
  canon = herr == 0 ? h.name : h4.name;
  if ((flags & AI_CANONNAME) && (head->ai_canonname = strdup(canon)) == NULL) {
    freeaddrinfo(head);
    return EAI_MEMORY;
  }
  *res = head;
  return 0;
}

ZT_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  int flags = AI_V4MAPPED | AI_ADDRCONFIG, family = AF_UNSPEC, socktype = 0, protocol = 0, rc, numeric_flags;
  struct addrinfo *head = NULL, **tail = &head;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.getaddrinfo(node, service, hints, res);
  if (hints) {
    flags = hints->ai_flags;
    family = hints->ai_family;
    socktype = hints->ai_socktype;
    protocol = hints->ai_protocol;
  }
  if (flags & ~KNOWN_AI_FLAGS) return EAI_BADFLAGS;
  if ((flags & AI_CANONNAME) && node == NULL) return EAI_BADFLAGS;
  if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) return EAI_FAMILY;
  if (node == NULL && service == NULL) return EAI_NONAME;
  /* AI_ADDRCONFIG as the container sees its network: both families configured (the host's
   * interfaces, which the real function would ask, are not the container's). */
  flags &= ~AI_ADDRCONFIG;
  if (node == NULL) {
    /* No name to look up: the wildcard or loopback addresses, IPv4 first (the container's family;
     * glibc's RFC 3484 sorting also puts it first on a host without IPv6 routes). */
    rc = 0;
    if (family != AF_INET6) rc = expand(NULL, service, flags, AF_INET, socktype, protocol, &tail);
    if (rc == 0 && family != AF_INET) rc = expand(NULL, service, flags, AF_INET6, socktype, protocol, &tail);
    if (rc != 0) {
      if (head) freeaddrinfo(head);
      return rc;
    }
    *res = head;
    return 0;
  }
  /* A numeric address (glibc's own parsing, inet_aton forms and IPv6 scopes included). */
  numeric_flags = (flags & ~(AI_IDN | AI_CANONIDN)) | AI_NUMERICHOST;
  rc = expand(node, service, numeric_flags, family, socktype, protocol, &tail);
  if (rc == 0) {
    keep_first_canonname(head);
    *res = head;
    return 0;
  }
  if (rc != EAI_NONAME || (flags & AI_NUMERICHOST)) return rc;
  return by_name(node, service, flags, family, socktype, protocol, res);
}

/* The local domain NI_NOFQDN strips (glibc's nrl_domainname, from this host's own name and
 * /etc/hosts only: never a lookup through the network). */
static int local_domain(char *out, size_t size) {
  char host[ZT_NAME_MAX];
  const char *dot;
  struct zt_host h;
  if (gethostname(host, sizeof(host)) != 0) return 0;
  host[sizeof(host) - 1] = '\0';
  dot = strchr(host, '.');
  if (!dot && zt_hosts_by_name(host, AF_UNSPEC, &h) == 0) dot = strchr(h.name, '.');
  if (!dot || !dot[1]) return 0;
  snprintf(out, size, "%s", dot + 1);
  return 1;
}

ZT_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                          socklen_t servlen, int flags) {
  struct zt_host h;
  const void *addr;
  char domain[ZT_NAME_MAX], *c;
  size_t len;
  int rc, herr;
  zt_ensure_init();
  if (!zt_enabled || sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || host == NULL ||
      hostlen == 0 || (flags & NI_NUMERICHOST))
    return zt_real_netdb.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  /* The numeric host, the service and every argument check are the real function's (without
   * NI_NAMEREQD, which it would refuse with a numeric host). */
  rc = zt_real_netdb.getnameinfo(sa, salen, host, hostlen, serv, servlen, (flags & ~NI_NAMEREQD) | NI_NUMERICHOST);
  if (rc != 0) return rc;
  addr = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                  : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  herr = zt_lookup_addr(sa->sa_family, addr, &h);
  if (herr != 0) {
    /* As glibc: no answer now is EAI_AGAIN; no name leaves the numeric host unless one is required. */
    if (herr == TRY_AGAIN) return EAI_AGAIN;
    return (flags & NI_NAMEREQD) ? EAI_NONAME : 0;
  }
  len = strlen(h.name);
  if ((flags & NI_NOFQDN) && local_domain(domain, sizeof(domain)) && (c = strstr(h.name, domain)) != NULL &&
      c != h.name && c[-1] == '.')
    len = (size_t)(c - 1 - h.name);
  if (len >= hostlen) return EAI_OVERFLOW;
  memcpy(host, h.name, len);
  host[len] = '\0';
  return 0;
}

struct notify_call {
  void (*fn)(union sigval);
  union sigval value;
};

static void *notify_thread(void *arg) {
  struct notify_call call = *(struct notify_call *)arg;
  free(arg);
  call.fn(call.value);
  return NULL;
}

/* getaddrinfo_a's notification once every request is done (GAI_NOWAIT), as its sigevent asks. */
static void notify(const struct sigevent *sevp) {
  pthread_attr_t attr, *a = sevp->sigev_notify_attributes;
  struct notify_call *call;
  pthread_t t;
  if (sevp->sigev_notify == SIGEV_SIGNAL) {
    sigqueue(getpid(), sevp->sigev_signo, sevp->sigev_value);
    return;
  }
  if (sevp->sigev_notify != SIGEV_THREAD || (call = malloc(sizeof(*call))) == NULL) return;
  call->fn = sevp->sigev_notify_function;
  call->value = sevp->sigev_value;
  if (!a) {
    /* The caller's attributes are used as given (glibc's aio/gai notification does the same). */
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    a = &attr;
  }
  if (pthread_create(&t, a, notify_thread, call) != 0) free(call);
  if (a == &attr) pthread_attr_destroy(&attr);
}

/*
 * getaddrinfo_a: glibc runs each request on a helper thread with its internal getaddrinfo, which no
 * hook sees. Here each request is answered by the hooked getaddrinfo before the call returns (the
 * daemon answers within seconds); the real gai_error, gai_suspend and gai_cancel then see them done
 * (gai_error reads the request's own result; the others find no request still queued).
 */
ZT_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int nitems, struct sigevent *sevp) {
  int i;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.getaddrinfo_a(mode, list, nitems, sevp);
  if (mode != GAI_WAIT && mode != GAI_NOWAIT) {
    errno = EINVAL;
    return EAI_SYSTEM;
  }
  for (i = 0; i < nitems; i++) {
    struct gaicb *req = list[i];
    if (!req) continue;
    req->ar_result = NULL;
    req->__return = getaddrinfo(req->ar_name, req->ar_service, req->ar_request, &req->ar_result);
  }
  if (mode == GAI_NOWAIT && sevp) notify(sevp);
  return 0;
}
