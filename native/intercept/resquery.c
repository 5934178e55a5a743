/*
 * The resolver's query functions under the library: res_query, res_search, res_querydomain,
 * res_send and their res_n* forms, under both names glibc 2.36 exports (res_query@@GLIBC_2.34 and
 * the older __res_query@GLIBC_2.2.5, which programs built against glibc < 2.34 use). Each query
 * message goes to the daemon (DNS_QUERY) instead of the nameservers of /etc/resolv.conf, with
 * glibc's results and h_errno (resolv/res_query.c, res_send.c): an answer longer than the caller's
 * buffer is cut to it with the TC bit set and its whole length returned, as glibc's TCP path does.
 * Queries are built by the real res_nmkquery (no I/O); EDNS0 (RES_USE_EDNS0) is not added.
 */
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "rpc.h"

/* A query message: header, one question (a name of at most 255 bytes), room to spare. */
#define ZT_QUERY_BUF 1024

static void set_herrno(res_state statp, int value) {
  statp->res_h_errno = value;
  h_errno = value;
}

/*
 * One query message to the daemon. The answer's whole length (only `anslen` bytes of it copied,
 * TC set when cut), or -1 with errno ETIMEDOUT (no answer: the daemon absent, untrusted or without
 * one) or EINVAL (a buffer smaller than a DNS header).
 */
static int send_query(const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  int n;
  if (msglen < HFIXEDSZ || anslen < HFIXEDSZ) {
    errno = EINVAL;
    return -1;
  }
  n = zt_misconfigured ? -ENETDOWN : zt_rpc_dns_query(msg, (size_t)msglen, answer, (size_t)anslen);
  zt_trace("DNS_QUERY (%d bytes) = %d", msglen, n);
  /* The answer must be to this query (same id), as res_send checks. */
  if (n >= 0 && memcmp(answer, msg, 2) != 0) n = -EIO;
  if (n < 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  if (n > anslen) ((HEADER *)(void *)answer)->tc = 1;
  return n;
}

static int nquery(res_state statp, const char *name, int class, int type, unsigned char *answer, int anslen) {
  unsigned char query[ZT_QUERY_BUF];
  const HEADER *hp = (const HEADER *)(void *)answer;
  int n = res_nmkquery(statp, QUERY, name, class, type, NULL, 0, NULL, query, sizeof(query));
  if (n <= 0) {
    set_herrno(statp, NO_RECOVERY);
    return n;
  }
  n = send_query(query, n, answer, anslen);
  if (n < 0) {
    set_herrno(statp, TRY_AGAIN);
    return -1;
  }
  if (hp->rcode != NOERROR || ntohs(hp->ancount) == 0) {
    switch (hp->rcode) {
    case NXDOMAIN:
      set_herrno(statp, HOST_NOT_FOUND);
      break;
    case SERVFAIL:
      set_herrno(statp, TRY_AGAIN);
      break;
    case NOERROR:
      set_herrno(statp, NO_DATA);
      break;
    default: /* FORMERR, NOTIMP, REFUSED… */
      set_herrno(statp, NO_RECOVERY);
      break;
    }
    return -1;
  }
  return n;
}

static int nquerydomain(res_state statp, const char *name, const char *domain, int class, int type,
                        unsigned char *answer, int anslen) {
  char full[MAXDNAME];
  size_t n = strlen(name);
  if (domain == NULL) {
    /* A trailing dot is dropped, as glibc does. */
    if (n >= MAXDNAME) {
      set_herrno(statp, NO_RECOVERY);
      return -1;
    }
    memcpy(full, name, n + 1);
    if (n > 0 && full[n - 1] == '.') full[n - 1] = '\0';
  } else {
    size_t d = strlen(domain);
    if (n + 1 + d >= MAXDNAME) {
      set_herrno(statp, NO_RECOVERY);
      return -1;
    }
    memcpy(full, name, n);
    full[n] = '.';
    memcpy(full + n + 1, domain, d + 1);
  }
  return nquery(statp, full, class, type, answer, anslen);
}

/* res_nsearch as glibc's __res_context_search: the name as is when it has ndots dots (or ends in
 * a dot), then each search domain, then as is when not tried yet; the most telling h_errno. */
static int nsearch(res_state statp, const char *name, int class, int type, unsigned char *answer, int anslen) {
  const char *cp;
  unsigned dots = 0;
  int trailing_dot = 0, tried_as_is = 0, saved_herrno = -1, got_nodata = 0, got_servfail = 0, searched = 0, ret;
  for (cp = name; *cp; cp++) dots += *cp == '.';
  if (cp > name && cp[-1] == '.') trailing_dot = 1;
  errno = 0;
  set_herrno(statp, HOST_NOT_FOUND);
  if (dots >= statp->ndots || trailing_dot) {
    ret = nquerydomain(statp, name, NULL, class, type, answer, anslen);
    if (ret > 0 || trailing_dot) return ret;
    saved_herrno = statp->res_h_errno;
    tried_as_is = 1;
  }
  if ((!dots && (statp->options & RES_DEFNAMES)) || (dots && !trailing_dot && (statp->options & RES_DNSRCH))) {
    char **domain;
    int done = 0;
    for (domain = statp->dnsrch; *domain && !done; domain++) {
      searched = 1;
      ret = nquerydomain(statp, name, *domain, class, type, answer, anslen);
      if (ret > 0) return ret;
      switch (statp->res_h_errno) {
      case NO_DATA:
        got_nodata = 1;
        break;
      case HOST_NOT_FOUND:
        break;
      case TRY_AGAIN:
        if (((const HEADER *)(void *)answer)->rcode == SERVFAIL) {
          got_servfail = 1;
          break;
        }
        done = 1;
        break;
      default:
        done = 1;
      }
      if (!(statp->options & RES_DNSRCH)) done = 1;
    }
  }
  if ((dots || !searched || !(statp->options & RES_NOTLDQUERY)) && !tried_as_is) {
    ret = nquerydomain(statp, name, NULL, class, type, answer, anslen);
    if (ret > 0) return ret;
  }
  if (saved_herrno != -1)
    set_herrno(statp, saved_herrno);
  else if (got_nodata)
    set_herrno(statp, NO_DATA);
  else if (got_servfail)
    set_herrno(statp, TRY_AGAIN);
  return -1;
}

static int nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  (void)statp;
  return send_query(msg, msglen, answer, anslen);
}

/* The process's (this thread's) resolver state for the non-n forms, initialised as glibc does. */
static res_state default_state(void) {
  if (!(_res.options & RES_INIT) && res_init() == -1) {
    h_errno = NETDB_INTERNAL;
    return NULL;
  }
  return &_res;
}

ZT_EXPORT int res_nquery(res_state statp, const char *name, int class, int type, unsigned char *answer, int anslen) {
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_nquery(statp, name, class, type, answer, anslen);
  return nquery(statp, name, class, type, answer, anslen);
}

ZT_EXPORT int res_nsearch(res_state statp, const char *name, int class, int type, unsigned char *answer, int anslen) {
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_nsearch(statp, name, class, type, answer, anslen);
  return nsearch(statp, name, class, type, answer, anslen);
}

ZT_EXPORT int res_nquerydomain(res_state statp, const char *name, const char *domain, int class, int type,
                               unsigned char *answer, int anslen) {
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_nquerydomain(statp, name, domain, class, type, answer, anslen);
  return nquerydomain(statp, name, domain, class, type, answer, anslen);
}

ZT_EXPORT int res_nsend(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_nsend(statp, msg, msglen, answer, anslen);
  return nsend(statp, msg, msglen, answer, anslen);
}

ZT_EXPORT int res_query(const char *name, int class, int type, unsigned char *answer, int anslen) {
  res_state statp;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_query(name, class, type, answer, anslen);
  if ((statp = default_state()) == NULL) return -1;
  return nquery(statp, name, class, type, answer, anslen);
}

ZT_EXPORT int res_search(const char *name, int class, int type, unsigned char *answer, int anslen) {
  res_state statp;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_search(name, class, type, answer, anslen);
  if ((statp = default_state()) == NULL) return -1;
  return nsearch(statp, name, class, type, answer, anslen);
}

ZT_EXPORT int res_querydomain(const char *name, const char *domain, int class, int type, unsigned char *answer,
                              int anslen) {
  res_state statp;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_querydomain(name, domain, class, type, answer, anslen);
  if ((statp = default_state()) == NULL) return -1;
  return nquerydomain(statp, name, domain, class, type, answer, anslen);
}

ZT_EXPORT int res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen) {
  res_state statp;
  zt_ensure_init();
  if (!zt_enabled) return zt_real_netdb.res_send(msg, msglen, answer, anslen);
  if ((statp = default_state()) == NULL) return -1;
  return nsend(statp, msg, msglen, answer, anslen);
}

/* The same functions under the names glibc < 2.34 exported (resolv.h then #defined them). */
ZT_EXPORT int __res_nquery(res_state, const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_nquery"), copy(res_nquery)));
ZT_EXPORT int __res_nsearch(res_state, const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_nsearch"), copy(res_nsearch)));
ZT_EXPORT int __res_nquerydomain(res_state, const char *, const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_nquerydomain"), copy(res_nquerydomain)));
ZT_EXPORT int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int)
    __attribute__((alias("res_nsend"), copy(res_nsend)));
ZT_EXPORT int __res_query(const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_query"), copy(res_query)));
ZT_EXPORT int __res_search(const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_search"), copy(res_search)));
ZT_EXPORT int __res_querydomain(const char *, const char *, int, int, unsigned char *, int)
    __attribute__((alias("res_querydomain"), copy(res_querydomain)));
ZT_EXPORT int __res_send(const unsigned char *, int, unsigned char *, int)
    __attribute__((alias("res_send"), copy(res_send)));
