/* syscall(): libuv and others make some socket calls (old libuv: recvmmsg/sendmmsg) through syscall(2); they reach the
 * same hooks. */
#include <stdarg.h>
#include <sys/syscall.h>

#include "shim.h"

ZT_EXPORT long syscall(long number, ...) {
  va_list ap;
  long a[6];
  int i;
  zt_ensure_init();
  va_start(ap, number);
  for (i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  switch (number) {
  case SYS_socket:
    return socket((int)a[0], (int)a[1], (int)a[2]);
  case SYS_socketpair:
    return socketpair((int)a[0], (int)a[1], (int)a[2], (int *)a[3]);
  case SYS_bind:
    return bind((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
  case SYS_listen:
    return listen((int)a[0], (int)a[1]);
  case SYS_accept:
    return accept((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_accept4:
    return accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], (int)a[3]);
  case SYS_connect:
    return connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
  case SYS_getsockname:
    return getsockname((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_getpeername:
    return getpeername((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_getsockopt:
    return getsockopt((int)a[0], (int)a[1], (int)a[2], (void *)a[3], (socklen_t *)a[4]);
  case SYS_setsockopt:
    return setsockopt((int)a[0], (int)a[1], (int)a[2], (const void *)a[3], (socklen_t)a[4]);
  case SYS_shutdown:
    return shutdown((int)a[0], (int)a[1]);
  case SYS_sendto:
    return sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3], (const struct sockaddr *)a[4],
                  (socklen_t)a[5]);
  case SYS_recvfrom:
    return recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3], (struct sockaddr *)a[4], (socklen_t *)a[5]);
  case SYS_sendmsg:
    return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
  case SYS_recvmsg:
    return recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
  case SYS_sendmmsg:
    return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3]);
  case SYS_recvmmsg:
    return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned int)a[2], (int)a[3], (struct timespec *)a[4]);
  default:
    return zt_real.syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}
