/* The real libc functions behind every hook, looked up once with RTLD_NEXT. */
#include <dlfcn.h>

#include "shim.h"

struct zt_real zt_real;

void zt_real_resolve(void) {
#define R(name) zt_real.name = (__typeof__(zt_real.name))dlsym(RTLD_NEXT, #name)
  R(socket);
  R(socketpair);
  R(bind);
  R(listen);
  R(accept);
  R(accept4);
  R(connect);
  R(getsockname);
  R(getpeername);
  R(getsockopt);
  R(setsockopt);
  R(shutdown);
  R(sendto);
  R(syscall);
#undef R
}
