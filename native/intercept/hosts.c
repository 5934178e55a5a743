/*
 * The local name sources: /etc/hosts read as glibc's `files` module reads it (nss_files/files-hosts.c,
 * glibc 2.36), and /etc/nsswitch.conf's `hosts:` line. Both files are read at each lookup, as glibc
 * rereads /etc/hosts, so an edit takes effect at once.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "resolve.h"

#define HOSTS_PATH "/etc/hosts"
#define NSSWITCH_PATH "/etc/nsswitch.conf"
#define RESOLV_CONF_PATH "/etc/resolv.conf"
#define HOSTS_MAX_FIELDS 64

void zt_host_add_alias(struct zt_host *h, const char *alias) {
  size_t n = strlen(alias) + 1;
  if (h->aliases_len + n > sizeof(h->aliases)) return;
  memcpy(h->aliases + h->aliases_len, alias, n);
  h->aliases_len += n;
  h->naliases++;
}

void zt_host_add_addr(struct zt_host *h, int family, const void *bytes) {
  if (h->count == ZT_RESOLVE_MAX_ADDRS) return;
  h->addrs[h->count].family = (uint8_t)family;
  memset(h->addrs[h->count].bytes, 0, 16);
  memcpy(h->addrs[h->count].bytes, bytes, family == AF_INET6 ? 16 : 4);
  h->count++;
}

/* One line of /etc/hosts split into fields (comments dropped); the field count. */
static int split_line(char *line, char **fields) {
  int n = 0;
  char *p = strchr(line, '#'), *save = NULL, *tok;
  if (p) *p = '\0';
  for (tok = strtok_r(line, " \t\r\n", &save); tok && n < HOSTS_MAX_FIELDS; tok = strtok_r(NULL, " \t\r\n", &save))
    fields[n++] = tok;
  return n;
}

/*
 * A line's address as a lookup of `family` sees it: 1 with *af and bytes, else 0. As glibc's files
 * module: an AF_INET lookup takes IPv4 lines, IPv4-mapped IPv6 lines as their IPv4 address, and
 * `::1` as 127.0.0.1; an AF_INET6 lookup takes IPv6 lines; AF_UNSPEC takes both as written.
 */
static int line_address(const char *text, int family, int *af, uint8_t *bytes) {
  struct in6_addr a6;
  if (inet_pton(AF_INET, text, bytes) == 1) {
    *af = AF_INET;
    return family != AF_INET6;
  }
  if (inet_pton(AF_INET6, text, &a6) != 1) return 0;
  if (family == AF_INET) {
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      memcpy(bytes, a6.s6_addr + 12, 4);
    } else if (IN6_IS_ADDR_LOOPBACK(&a6)) {
      static const uint8_t loopback[4] = {127, 0, 0, 1};
      memcpy(bytes, loopback, 4);
    } else {
      return 0;
    }
    *af = AF_INET;
    return 1;
  }
  memcpy(bytes, &a6, 16);
  *af = AF_INET6;
  return 1;
}

int zt_hosts_by_name(const char *name, int family, struct zt_host *out) {
  FILE *f = fopen(HOSTS_PATH, "rce");
  char *line = NULL, *fields[HOSTS_MAX_FIELDS];
  size_t cap = 0;
  int found = 0;
  if (!f) return -1;
  memset(out, 0, sizeof(*out));
  while (getline(&line, &cap, f) >= 0) {
    int n = split_line(line, fields), i, af, match = 0;
    uint8_t bytes[16];
    if (n < 2) continue;
    for (i = 1; i < n && !match; i++) match = strcasecmp(fields[i], name) == 0;
    if (!match || !line_address(fields[0], family, &af, bytes)) continue;
    /* The first line gives the canonical name; later ones add their aliases, then their name. */
    if (!found) {
      snprintf(out->name, sizeof(out->name), "%s", fields[1]);
      for (i = 2; i < n; i++) zt_host_add_alias(out, fields[i]);
    } else {
      for (i = 2; i < n; i++) zt_host_add_alias(out, fields[i]);
      zt_host_add_alias(out, fields[1]);
    }
    zt_host_add_addr(out, af, bytes);
    found = 1;
  }
  free(line);
  fclose(f);
  return found ? 0 : 1;
}

int zt_hosts_by_addr(int family, const void *addr, struct zt_host *out) {
  FILE *f = fopen(HOSTS_PATH, "rce");
  char *line = NULL, *fields[HOSTS_MAX_FIELDS];
  size_t cap = 0, alen = family == AF_INET6 ? 16 : 4;
  int found = 0;
  if (!f) return -1;
  memset(out, 0, sizeof(*out));
  while (!found && getline(&line, &cap, f) >= 0) {
    int n = split_line(line, fields), i, af;
    uint8_t bytes[16];
    if (n < 2 || !line_address(fields[0], AF_UNSPEC, &af, bytes) || af != family || memcmp(bytes, addr, alen) != 0)
      continue;
    snprintf(out->name, sizeof(out->name), "%s", fields[1]);
    for (i = 2; i < n; i++) zt_host_add_alias(out, fields[i]);
    zt_host_add_addr(out, family, addr);
    found = 1;
  }
  free(line);
  fclose(f);
  return found ? 0 : 1;
}

/* glibc's default when nsswitch.conf or its hosts line is absent: "dns [!UNAVAIL=return] files". */
static int default_sources(struct zt_nss_entry *out) {
  memset(out, 0, 2 * sizeof(*out));
  out[0].source = ZT_NSS_DNS;
  out[0].stop[ZT_NSS_SUCCESS] = out[0].stop[ZT_NSS_NOTFOUND] = out[0].stop[ZT_NSS_TRYAGAIN] = 1;
  out[1].source = ZT_NSS_FILES;
  out[1].stop[ZT_NSS_SUCCESS] = 1;
  return 2;
}

static int status_index(const char *s, size_t n) {
  static const char *const names[ZT_NSS_STATUSES] = {"success", "notfound", "unavail", "tryagain"};
  int i;
  for (i = 0; i < ZT_NSS_STATUSES; i++)
    if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0) return i;
  return -1;
}

/* One "[STATUS=action …]" block applied to `e` (glibc nsswitch.c nss_parse_service_list). */
static void parse_actions(const char *p, size_t n, struct zt_nss_entry *e) {
  size_t i = 0;
  while (i < n) {
    size_t start, eq, end;
    int negate = 0, st, stop, k;
    while (i < n && isspace((unsigned char)p[i])) i++;
    if (i < n && p[i] == '!') negate = 1, i++;
    start = i;
    while (i < n && p[i] != '=' && !isspace((unsigned char)p[i])) i++;
    eq = i;
    if (i >= n || p[i] != '=') break;
    i++;
    end = i;
    while (end < n && !isspace((unsigned char)p[end])) end++;
    st = status_index(p + start, eq - start);
    stop = (end - i == 6 && strncasecmp(p + i, "return", 6) == 0);
    i = end;
    if (st < 0) continue;
    if (!negate) {
      e->stop[st] = (uint8_t)stop;
    } else {
      for (k = 0; k < ZT_NSS_STATUSES; k++)
        if (k != st) e->stop[k] = (uint8_t)stop;
    }
  }
}

/* The entries of one `hosts:` line's value; their count (0 when it names none). */
static int parse_sources(const char *p, struct zt_nss_entry *out, int max) {
  int n = 0;
  while (*p) {
    while (isspace((unsigned char)*p)) p++;
    if (*p == '[') {
      const char *close = strchr(p, ']');
      size_t len = close ? (size_t)(close - p - 1) : strlen(p + 1);
      if (n > 0) parse_actions(p + 1, len, &out[n - 1]);
      p += len + 1 + (close != NULL);
    } else if (*p) {
      const char *start = p;
      size_t len;
      while (*p && !isspace((unsigned char)*p) && *p != '[') p++;
      len = (size_t)(p - start);
      if (n == max) break;
      memset(&out[n], 0, sizeof(out[n]));
      out[n].stop[ZT_NSS_SUCCESS] = 1;
      out[n].source = (len == 5 && strncmp(start, "files", 5) == 0) ? ZT_NSS_FILES
                      : (len == 3 && strncmp(start, "dns", 3) == 0) ? ZT_NSS_DNS
                                                                    : ZT_NSS_OTHER;
      n++;
    }
  }
  return n;
}

int zt_nss_hosts(struct zt_nss_entry *out, int max) {
  FILE *f = fopen(NSSWITCH_PATH, "rce");
  char *line = NULL;
  size_t cap = 0;
  int n = -1;
  if (!f) return default_sources(out);
  while (n < 0 && getline(&line, &cap, f) >= 0) {
    char *p = line, *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    while (isspace((unsigned char)*p)) p++;
    if (strncmp(p, "hosts", 5) != 0) continue;
    p += 5;
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') continue;
    n = parse_sources(p + 1, out, max);
  }
  free(line);
  fclose(f);
  return n < 0 ? default_sources(out) : n;
}

/* The words after a `search` or `domain` keyword become the list (the last such line wins). */
static void set_search(struct zt_search *out, char *rest, int many) {
  char *save = NULL, *tok;
  out->count = 0;
  for (tok = strtok_r(rest, " \t\r\n", &save); tok && out->count < ZT_SEARCH_MAX;
       tok = strtok_r(NULL, " \t\r\n", &save)) {
    snprintf(out->domains[out->count++], ZT_NAME_MAX, "%s", tok);
    if (!many) break;
  }
}

void zt_resolv_search(struct zt_search *out) {
  FILE *f = fopen(RESOLV_CONF_PATH, "rce");
  char *line = NULL, host[ZT_NAME_MAX], *dot;
  size_t cap = 0;
  int given = 0;
  out->count = 0;
  out->ndots = 1;
  while (f && getline(&line, &cap, f) >= 0) {
    char *p = line, *opt;
    if (*p == '#' || *p == ';') continue;
    if (strncmp(p, "search", 6) == 0 && isspace((unsigned char)p[6])) {
      set_search(out, p + 7, 1);
      given = 1;
    } else if (strncmp(p, "domain", 6) == 0 && isspace((unsigned char)p[6])) {
      set_search(out, p + 7, 0);
      given = 1;
    } else if (strncmp(p, "options", 7) == 0 && (opt = strstr(p, "ndots:")) != NULL) {
      long n = strtol(opt + 6, NULL, 10);
      out->ndots = n < 0 ? 0 : n > 15 ? 15 : (unsigned)n;
    }
  }
  free(line);
  if (f) fclose(f);
  /* As res_init: no search list given, the domain part of this host's name. */
  if (!given && gethostname(host, sizeof(host)) == 0 && (host[sizeof(host) - 1] = '\0', dot = strchr(host, '.')) &&
      dot[1]) {
    snprintf(out->domains[0], ZT_NAME_MAX, "%s", dot + 1);
    out->count = 1;
  }
}
