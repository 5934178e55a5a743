/* ZT_NC_DEBUG tracing: one line per event on stderr, written with a single write(2). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "shim.h"

int zt_debug;

void zt_trace(const char *fmt, ...) {
  char line[512];
  va_list ap;
  int n, saved = errno;
  if (!zt_debug) return;
  n = snprintf(line, sizeof(line), "[ztnc %d] ", (int)getpid());
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  if (zt_real.write(2, line, (size_t)n) < 0) { /* nothing to do: tracing is best effort */
  }
  errno = saved;
}
