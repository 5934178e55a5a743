/*
 * gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r, gethostbyaddr and
 * gethostbyaddr_r under the library: answered by resolve.c (/etc/hosts and the daemon, in
 * nsswitch order), with glibc's results and errors (inet/getXXbyYY_r.c, nss/digits_dots.c, 2.36).
 * A numeric name is the real function's: glibc answers it itself, before any module is asked.
 * The non-reentrant forms keep their result per thread (glibc's is one per process), so a
 * thread's result is not overwritten by another thread's lookup.
 */
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "resolve.h"

/*
 * Does glibc answer `name` without asking a module (__nss_hostname_digits_dots)? Digits and dots
 * not ending in a dot, or an IPv6-looking text (a hex digit or ':' first, with a ':'): a valid
 * address is the answer, anything else HOST_NOT_FOUND. Other names reach the modules.
 */
static int numeric_name(const char *name) {
  const char *cp;
  if (isdigit((unsigned char)name[0])) {
    for (cp = name; *cp; cp++)
      if (!isdigit((unsigned char)*cp) && *cp != '.') break;
    if (*cp == '\0' && cp[-1] != '.') return 1;
  }
  return (isxdigit((unsigned char)name[0]) && strchr(name, ':') != NULL) || name[0] == ':';
}

/* Lays `h`'s addresses of `af` out in the caller's buffer as a hostent: 0, or ERANGE. */
static int fill_hostent(const struct zt_host *h, int af, struct hostent *ret, char *buf, size_t buflen) {
  size_t alen = af == AF_INET6 ? 16 : 4, nlen = strlen(h->name) + 1, naddr = 0, need, pad, k = 0;
  char *p, **addr_list, **aliases;
  const char *alias;
  int i;
  for (i = 0; i < h->count; i++) naddr += h->addrs[i].family == af;
  pad = (sizeof(char *) - ((uintptr_t)buf % sizeof(char *))) % sizeof(char *);
  need = pad + (naddr + 1 + (size_t)h->naliases + 1) * sizeof(char *) + naddr * alen + nlen + h->aliases_len;
  if (buflen < need) return ERANGE;
  p = buf + pad;
  addr_list = (char **)(void *)p;
  p += (naddr + 1) * sizeof(char *);
  aliases = (char **)(void *)p;
  p += ((size_t)h->naliases + 1) * sizeof(char *);
  for (i = 0; i < h->count; i++) {
    if (h->addrs[i].family != af) continue;
    memcpy(p, h->addrs[i].bytes, alen);
    addr_list[k++] = p;
    p += alen;
  }
  addr_list[k] = NULL;
  memcpy(p, h->name, nlen);
  ret->h_name = p;
  p += nlen;
  memcpy(p, h->aliases, h->aliases_len);
  for (i = 0, alias = p; i < h->naliases; i++, alias += strlen(alias) + 1) aliases[i] = (char *)alias;
  aliases[h->naliases] = NULL;
  ret->h_aliases = aliases;
  ret->h_addrtype = af;
  ret->h_length = (int)alen;
  ret->h_addr_list = addr_list;
  return 0;
}

/*
 * A lookup's outcome as the _r functions report it (getXXbyYY_r.c): found → 0 with *result;
 * not found or no data → 0 with *result NULL; TRY_AGAIN → EAGAIN; buffer too small → ERANGE with
 * NETDB_INTERNAL. errno is set to the value returned when it is not 0.
 */
static int finish_r(int herr, const struct zt_host *h, int af, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
  int i, naddr = 0;
  *result = NULL;
  if (herr == 0) {
    for (i = 0; i < h->count; i++) naddr += h->addrs[i].family == af;
    if (naddr == 0) herr = NO_DATA;
  }
  if (herr != 0) {
    *h_errnop = herr;
    if (herr == TRY_AGAIN) return errno = EAGAIN;
    return 0;
  }
  if (fill_hostent(h, af, ret, buf, buflen) != 0) {
    *h_errnop = NETDB_INTERNAL;
    return errno = ERANGE;
  }
  *h_errnop = NETDB_SUCCESS;
  *result = ret;
  return 0;
}

static int by_name_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                     int *h_errnop) {
  struct zt_host h;
  if (af != AF_INET && af != AF_INET6) {
    *result = NULL;
    *h_errnop = NETDB_INTERNAL;
    return errno = EAFNOSUPPORT;
  }
  return finish_r(zt_lookup_name(name, af, &h), &h, af, ret, buf, buflen, result, h_errnop);
}

static int by_addr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                     struct hostent **result, int *h_errnop) {
  struct zt_host h;
  int herr;
  *result = NULL;
  if (!((type == AF_INET && len == 4) || (type == AF_INET6 && len == 16))) {
    *h_errnop = NETDB_INTERNAL;
    return errno = EINVAL;
  }
  if (type == AF_INET6 && memcmp(addr, &in6addr_any, 16) == 0) {
    /* As glibc: the unspecified address has no name. */
    *h_errnop = HOST_NOT_FOUND;
    return errno = ENOENT;
  }
  herr = zt_lookup_addr(type, addr, &h);
  /* The dns source answers a v4-mapped address with its IPv4 one (glibc unmaps it): an AF_INET hostent. */
  if (herr == 0 && h.count > 0) type = h.addrs[0].family;
  return finish_r(herr, &h, type, ret, buf, buflen, result, h_errnop);
}

/* The non-reentrant forms' result: one per thread, freed when the thread exits. */
#define ZT_HOSTENT_BUF 8192
struct thread_hostent {
  struct hostent he;
  char buf[ZT_HOSTENT_BUF];
};
static pthread_key_t hostent_key;
static pthread_once_t hostent_once = PTHREAD_ONCE_INIT;
static int have_hostent_key;

static void make_key(void) { have_hostent_key = pthread_key_create(&hostent_key, free) == 0; }

static struct thread_hostent *thread_hostent(void) {
  static __thread struct thread_hostent *mine;
  if (mine) return mine;
  pthread_once(&hostent_once, make_key);
  mine = calloc(1, sizeof(*mine));
  if (mine && have_hostent_key) pthread_setspecific(hostent_key, mine);
  return mine;
}

/* A _r outcome as the non-reentrant forms report it: the hostent, or NULL with h_errno. */
static struct hostent *static_result(struct hostent *result, int herr) {
  h_errno = herr;
  return result;
}

ZT_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                               struct hostent **result, int *h_errnop) {
  zt_ensure_init();
  if (!zt_enabled || numeric_name(name))
    return zt_real_netdb.gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
  return by_name_r(name, af, ret, buf, buflen, result, h_errnop);
}

ZT_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                              int *h_errnop) {
  zt_ensure_init();
  if (!zt_enabled || numeric_name(name)) return zt_real_netdb.gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
  return by_name_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

ZT_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop) {
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
  return by_addr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

ZT_EXPORT struct hostent *gethostbyname2(const char *name, int af) {
  struct thread_hostent *t;
  struct hostent *result;
  int herr = 0, rc;
  zt_ensure_init();
  if (!zt_enabled || numeric_name(name)) return zt_real_netdb.gethostbyname2(name, af);
  t = thread_hostent();
  if (!t) return static_result(NULL, NETDB_INTERNAL);
  rc = by_name_r(name, af, &t->he, t->buf, sizeof(t->buf), &result, &herr);
  return static_result(rc == 0 ? result : NULL, herr);
}

ZT_EXPORT struct hostent *gethostbyname(const char *name) {
  struct thread_hostent *t;
  struct hostent *result;
  int herr = 0, rc;
  zt_ensure_init();
  if (!zt_enabled || numeric_name(name)) return zt_real_netdb.gethostbyname(name);
  t = thread_hostent();
  if (!t) return static_result(NULL, NETDB_INTERNAL);
  rc = by_name_r(name, AF_INET, &t->he, t->buf, sizeof(t->buf), &result, &herr);
  return static_result(rc == 0 ? result : NULL, herr);
}

ZT_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
  struct thread_hostent *t;
  struct hostent *result;
  int herr = 0, rc;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.gethostbyaddr(addr, len, type);
  t = thread_hostent();
  if (!t) return static_result(NULL, NETDB_INTERNAL);
  rc = by_addr_r(addr, len, type, &t->he, t->buf, sizeof(t->buf), &result, &herr);
  return static_result(rc == 0 ? result : NULL, herr);
}
