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
  R(read);
  R(write);
  R(readv);
  R(writev);
  R(send);
  R(recv);
  R(recvfrom);
  R(sendmsg);
  R(recvmsg);
  R(sendmmsg);
  R(recvmmsg);
  R(ioctl);
  R(dup);
  R(dup2);
  R(dup3);
  R(fcntl);
  R(fcntl64);
  if (zt_real.fcntl64 == NULL) zt_real.fcntl64 = zt_real.fcntl;
#undef R
}

struct zt_real_netdb zt_real_netdb;

void zt_real_resolve_netdb(void) {
#define R(name) zt_real_netdb.name = (__typeof__(zt_real_netdb.name))dlsym(RTLD_NEXT, #name)
  R(getaddrinfo);
  R(getnameinfo);
  R(getaddrinfo_a);
  R(gethostbyname);
  R(gethostbyname2);
  R(gethostbyaddr);
  R(gethostbyname_r);
  R(gethostbyname2_r);
  R(gethostbyaddr_r);
#undef R
  /* glibc before 2.34 has the resolver in libresolv, under its __res_* names only. */
#define R(name)                                                                                                        \
  zt_real_netdb.name = (__typeof__(zt_real_netdb.name))dlsym(RTLD_NEXT, #name);                                        \
  if (!zt_real_netdb.name) zt_real_netdb.name = (__typeof__(zt_real_netdb.name))dlsym(RTLD_NEXT, "__" #name)
  R(res_query);
  R(res_search);
  R(res_querydomain);
  R(res_send);
  R(res_nquery);
  R(res_nsearch);
  R(res_nquerydomain);
  R(res_nsend);
#undef R
}
