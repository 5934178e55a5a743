/*
 * Name lookups under the library (resolve.c): the sources /etc/nsswitch.conf's `hosts:` line names,
 * in its order — `files` (/etc/hosts, hosts.c) and `dns` (the daemon's RESOLVE and REVERSE) — and
 * never the host's resolver. The hooks (netdb.c, hostent.c, resquery.c) build their results from a
 * struct zt_host.
 */
#ifndef ZTNC_RESOLVE_H
#define ZTNC_RESOLVE_H

#include "rpc.h"

#define ZT_HOST_ALIASES 1024 /* bytes of alias text kept (NUL-separated) */

/* One lookup's answer, as a hostent carries it. */
struct zt_host {
  char name[ZT_NAME_MAX]; /* the canonical name */
  char aliases[ZT_HOST_ALIASES];
  size_t aliases_len; /* bytes used in `aliases`, each alias NUL-terminated */
  int naliases;
  int count;
  struct {
    uint8_t family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
  } addrs[ZT_RESOLVE_MAX_ADDRS];
};

/* Appends an alias (dropped when the text is full). */
ZT_HIDDEN void zt_host_add_alias(struct zt_host *h, const char *alias);
/* Appends an address (dropped when full). */
ZT_HIDDEN void zt_host_add_addr(struct zt_host *h, int family, const void *bytes);

/*
 * `name`'s addresses of `family` (AF_INET or AF_INET6; AF_UNSPEC: both), from the sources in
 * nsswitch order. 0, or the h_errno of the failure: HOST_NOT_FOUND, NO_DATA (the name has no
 * address of that family), TRY_AGAIN (no answer now, or the daemon cannot be reached).
 */
ZT_HIDDEN int zt_lookup_name(const char *name, int family, struct zt_host *out);
/* The name of an address (4 or 16 bytes by family): 0 with out->name and the address, or h_errno. */
ZT_HIDDEN int zt_lookup_addr(int family, const void *addr, struct zt_host *out);

/* hosts.c: /etc/hosts. 0 found, 1 not there, -1 the file cannot be read. */
ZT_HIDDEN int zt_hosts_by_name(const char *name, int family, struct zt_host *out);
ZT_HIDDEN int zt_hosts_by_addr(int family, const void *addr, struct zt_host *out);

/* hosts.c: /etc/resolv.conf's search list and ndots, as glibc's res_init reads them (the domain of
 * this host's name when neither `search` nor `domain` is given). */
#define ZT_SEARCH_MAX 6
struct zt_search {
  int count;
  unsigned ndots;
  char domains[ZT_SEARCH_MAX][ZT_NAME_MAX];
};
ZT_HIDDEN void zt_resolv_search(struct zt_search *out);

/* hosts.c: /etc/nsswitch.conf's hosts line. */
enum zt_nss_source { ZT_NSS_FILES, ZT_NSS_DNS, ZT_NSS_OTHER };
enum zt_nss_status { ZT_NSS_SUCCESS, ZT_NSS_NOTFOUND, ZT_NSS_UNAVAIL, ZT_NSS_TRYAGAIN, ZT_NSS_STATUSES };
struct zt_nss_entry {
  enum zt_nss_source source;
  uint8_t stop[ZT_NSS_STATUSES]; /* 1 = `return` after this status, 0 = `continue` */
};
#define ZT_NSS_MAX 16
/* The hosts sources in order (glibc's default when the file or the line is absent); their count. */
ZT_HIDDEN int zt_nss_hosts(struct zt_nss_entry *out, int max);

#endif
