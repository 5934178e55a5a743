/*
 * The library's socket location (native/intercept/location.c, compiled in) for the environment
 * this program runs with: `location_probe <nwid>` prints "ok <candidate>…" or "error <code>
 * <why>", so test/netcon/endpoint-location.test.ts can compare it with src/netcon/socket-path.ts.
 * `location_probe --name <name>…` prints 1 or 0 per name: zt_endpoint_name_valid.
 */
#include <stdio.h>
#include <string.h>

#include "location.h"

int main(int argc, char **argv) {
  struct zt_location where;
  char why[300];
  enum zt_location_error err;
  int i;
  if (argc >= 2 && strcmp(argv[1], "--name") == 0) {
    for (i = 2; i < argc; i++) printf("%d\n", zt_endpoint_name_valid(argv[i]));
    return 0;
  }
  if (argc != 2) return 2;
  err = zt_location_from_env(argv[1], &where, why, sizeof(why));
  if (err != ZT_LOC_OK) {
    printf("error %d %s\n", (int)err, why);
    return 0;
  }
  printf("ok");
  for (i = 0; i < where.count; i++) printf(" %s", where.candidates[i].path);
  printf("\n");
  return 0;
}
