/*
 * Name lookups under the library, in /etc/nsswitch.conf's order (resolve.h). `files` is /etc/hosts
 * (hosts.c); `dns` is the daemon (RESOLVE, REVERSE), which answers names of the virtual network and
 * forwards the rest over it; every other module (myhostname, mdns*, resolve, mymachines…) is
 * skipped: it would answer from the host (`resolve` asks the host's systemd-resolved). A daemon
 * that cannot be reached is TRY_AGAIN, never a fall-back to the host's resolver. Names under
 * `localhost` (RFC 6761) are answered here as loopback when the files did not, never sent out.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "resolve.h"

/* How a source ended: the nsswitch status and the h_errno it leaves. */
struct outcome {
  enum zt_nss_status status;
  int herr;
};

static struct outcome from_daemon(int rc) {
  struct outcome o = {ZT_NSS_SUCCESS, 0};
  if (rc >= 0) return o;
  switch (-rc) {
  case ENOENT:
    o.status = ZT_NSS_NOTFOUND, o.herr = HOST_NOT_FOUND;
    break;
  case ENODATA:
    o.status = ZT_NSS_NOTFOUND, o.herr = NO_DATA;
    break;
  case EAGAIN:
    o.status = ZT_NSS_TRYAGAIN, o.herr = TRY_AGAIN;
    break;
  default: /* absent (ENETDOWN), untrusted (EACCES), a broken reply (EIO): no answer now */
    zt_trace("name lookup: the daemon cannot answer (%s)", strerror(-rc));
    o.status = ZT_NSS_UNAVAIL, o.herr = TRY_AGAIN;
    break;
  }
  return o;
}

static struct outcome from_files(int rc) {
  struct outcome o = {ZT_NSS_SUCCESS, 0};
  if (rc > 0) o.status = ZT_NSS_NOTFOUND, o.herr = HOST_NOT_FOUND;
  if (rc < 0) o.status = ZT_NSS_UNAVAIL, o.herr = HOST_NOT_FOUND;
  return o;
}

/* "localhost" and names under it (RFC 6761 6.3): loopback, never asked of anyone. */
static int is_localhost(const char *name) {
  size_t n = strlen(name), k = strlen("localhost");
  if (n > 0 && name[n - 1] == '.') n--;
  if (n < k || strncasecmp(name + n - k, "localhost", k) != 0) return 0;
  return n == k || name[n - k - 1] == '.';
}

static struct outcome localhost_answer(const char *name, int family, struct zt_host *out) {
  static const uint8_t v4[4] = {127, 0, 0, 1};
  struct outcome o = {ZT_NSS_SUCCESS, 0};
  memset(out, 0, sizeof(*out));
  snprintf(out->name, sizeof(out->name), "%s", name);
  if (family != AF_INET6) zt_host_add_addr(out, AF_INET, v4);
  if (family == AF_INET6) zt_host_add_addr(out, AF_INET6, &in6addr_loopback);
  return o;
}

/* One name, as is, to the daemon. */
static struct outcome dns_query_name(const char *name, int family, struct zt_host *out) {
  struct zt_resolved r;
  struct outcome o;
  int rc, i;
  rc = zt_rpc_resolve(name, family, &r);
  zt_trace("RESOLVE %s (family %d) = %d", name, family, rc < 0 ? rc : r.count);
  o = from_daemon(rc);
  if (o.status != ZT_NSS_SUCCESS) return o;
  memset(out, 0, sizeof(*out));
  if (r.canonical[0] == '\0') {
    snprintf(out->name, sizeof(out->name), "%s", name);
  } else {
    memcpy(out->name, r.canonical, sizeof(out->name));
    /* As glibc's dns module: a name reached through CNAMEs is an alias of the canonical one. */
    if (strcasecmp(name, r.canonical) != 0) zt_host_add_alias(out, name);
  }
  for (i = 0; i < r.count; i++) zt_host_add_addr(out, r.addrs[i].family, r.addrs[i].bytes);
  return o;
}

/* `name` in `domain` (NULL: as is, without a trailing dot) to the daemon; too long is not found. */
static struct outcome dns_query_in(const char *name, const char *domain, int family, struct zt_host *out) {
  char full[ZT_NAME_MAX];
  size_t n = strlen(name), d = domain ? strlen(domain) : 0;
  struct outcome notfound = {ZT_NSS_NOTFOUND, HOST_NOT_FOUND};
  if (domain == NULL) {
    if (n >= sizeof(full)) return notfound;
    memcpy(full, name, n + 1);
    if (n > 0 && full[n - 1] == '.') full[n - 1] = '\0';
  } else {
    if (n + 1 + d >= sizeof(full)) return notfound;
    memcpy(full, name, n);
    full[n] = '.';
    memcpy(full + n + 1, domain, d + 1);
  }
  return dns_query_name(full, family, out);
}

/*
 * The `dns` source for a name: the daemon's RESOLVE, through /etc/resolv.conf's search list as
 * glibc's dns module searches (resolv/res_query.c __res_context_search): the name as is first when
 * it has ndots dots or ends in a dot, then in each search domain (a "no such name" or "no data"
 * goes on, anything else stops), then as is when not tried yet; the as-is answer's error wins.
 */
static struct outcome dns_by_name(const char *name, int family, struct zt_host *out) {
  struct zt_search search;
  struct outcome o, saved = {ZT_NSS_NOTFOUND, HOST_NOT_FOUND};
  const char *cp;
  unsigned dots = 0;
  int trailing_dot, tried_as_is = 0, have_saved = 0, got_nodata = 0, i;
  if (is_localhost(name)) return localhost_answer(name, family, out);
  if (zt_misconfigured) return from_daemon(-ENETDOWN);
  for (cp = name; *cp; cp++) dots += *cp == '.';
  trailing_dot = cp > name && cp[-1] == '.';
  zt_resolv_search(&search);
  if (dots >= search.ndots || trailing_dot) {
    o = dns_query_in(name, NULL, family, out);
    if (o.status == ZT_NSS_SUCCESS || trailing_dot) return o;
    saved = o;
    have_saved = tried_as_is = 1;
  }
  for (i = 0; i < search.count; i++) {
    const char *domain = search.domains[i][0] == '.' ? search.domains[i] + 1 : search.domains[i];
    o = dns_query_in(name, domain[0] ? domain : NULL, family, out);
    if (o.status == ZT_NSS_SUCCESS) return o;
    if (o.herr == NO_DATA) got_nodata = 1;
    if (o.herr != NO_DATA && o.herr != HOST_NOT_FOUND) break;
  }
  if (!tried_as_is) {
    o = dns_query_in(name, NULL, family, out);
    if (o.status == ZT_NSS_SUCCESS) return o;
  }
  if (have_saved) return saved;
  if (got_nodata) {
    o.status = ZT_NSS_NOTFOUND;
    o.herr = NO_DATA;
  }
  return o;
}

/* The `dns` source for an address: the daemon's REVERSE (an IPv4-mapped address as IPv4, as
 * glibc's dns module asks in-addr.arpa for it and answers with the IPv4 address). */
static struct outcome dns_by_addr(int family, const void *addr, struct zt_host *out) {
  const struct in6_addr *a6 = addr;
  char name[ZT_NAME_MAX];
  struct outcome o;
  int rc;
  if (zt_misconfigured) return from_daemon(-ENETDOWN);
  if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a6)) {
    family = AF_INET;
    addr = a6->s6_addr + 12;
  }
  rc = zt_rpc_reverse(family, addr, name);
  zt_trace("REVERSE (family %d) = %d", family, rc);
  o = from_daemon(rc);
  if (o.status != ZT_NSS_SUCCESS) return o;
  memset(out, 0, sizeof(*out));
  memcpy(out->name, name, sizeof(out->name));
  zt_host_add_addr(out, family, addr);
  return o;
}

/* Runs the nsswitch sources until one answers or an action says return; the last h_errno else. */
static int run_sources(const char *name, int family, const void *addr, struct zt_host *out) {
  struct zt_nss_entry src[ZT_NSS_MAX];
  int n = zt_nss_hosts(src, ZT_NSS_MAX), i, herr = HOST_NOT_FOUND;
  for (i = 0; i < n; i++) {
    struct outcome o;
    if (src[i].source == ZT_NSS_FILES)
      o = from_files(name ? zt_hosts_by_name(name, family, out) : zt_hosts_by_addr(family, addr, out));
    else if (src[i].source == ZT_NSS_DNS)
      o = name ? dns_by_name(name, family, out) : dns_by_addr(family, addr, out);
    else
      continue; /* answers from the host: skipped */
    if (o.status == ZT_NSS_SUCCESS) return 0;
    herr = o.herr;
    if (src[i].stop[o.status]) break;
  }
  return herr;
}

int zt_lookup_name(const char *name, int family, struct zt_host *out) { return run_sources(name, family, NULL, out); }

int zt_lookup_addr(int family, const void *addr, struct zt_host *out) { return run_sources(NULL, family, addr, out); }
