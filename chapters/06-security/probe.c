// probe: what root inside a container may still ask of the kernel.
//
//   probe NAME...    one line per probe: "NAME ok" or "NAME EPERM"
//
// Each probe makes one request that is harmless even where it is
// allowed (a query, or arguments the kernel rejects after its
// permission check), so the errno tells who said no: EPERM or EACCES
// from a missing capability or the seccomp filter, another errno from
// the call itself. Static, so it runs in any rootfs.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

// Returns 0 if allowed, else the errno.
typedef int (*probe_fn)(const char *arg);

static int result(long ret) { return ret < 0 ? errno : 0; }

// Keyrings are not namespaced: a container must not reach the host's.
static int p_keyctl(const char *a) {
  (void)a;
  return result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                        KEY_SPEC_SESSION_KEYRING, 0));
}

// "shocker": open any inode of a filesystem by its handle. A bogus
// handle fails with EINVAL or ESTALE after the permission check.
static int p_open_by_handle_at(const char *a) {
  (void)a;
  struct { unsigned int bytes; int type; unsigned char h[8]; } fh = {8, 1};
  int r = result(syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY));
  return r == EPERM || r == EACCES ? r : 0;
}

// A tmpfs on a directory of our own, unmounted at once.
static int p_mount(const char *a) {
  (void)a;
  const char *dir = "/tmp/.probe-mnt";
  mkdir(dir, 0700);
  int r = result(mount("none", dir, "tmpfs", MS_RDONLY, NULL));
  if (r == 0) umount2(dir, MNT_DETACH);
  rmdir(dir);
  return r;
}

static int p_unshare(const char *a) {
  (void)a;
  return result(unshare(CLONE_NEWNS | CLONE_NEWUTS));
}

// Both NULL: the kernel checks CAP_SYS_TIME, then changes nothing.
static int p_settimeofday(const char *a) {
  (void)a;
  return result(syscall(SYS_settimeofday, NULL, NULL));
}

// The kernel log's size: a read, which needs CAP_SYSLOG.
static int p_syslog(const char *a) {
  (void)a;
  return result(syscall(SYS_syslog, 10, NULL, 0));
}

// NULL attributes: EFAULT once the call is let through.
static int p_bpf(const char *a) {
  (void)a;
  int r = result(syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
  return r == EPERM ? r : 0;
}

static int p_perf_event_open(const char *a) {
  (void)a;
  int r = result(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  return r == EPERM || r == EACCES ? r : 0;
}

static int p_swapon(const char *a) {
  (void)a;
  int r = result(swapon("/nonexistent-swap", 0));
  return r == EPERM ? r : 0;
}

static int p_init_module(const char *a) {
  (void)a;
  int r = result(syscall(SYS_init_module, NULL, 0, ""));
  return r == EPERM ? r : 0;
}

// A device node of the host ("MAJ:MIN"), made and opened for reading.
static int p_mknod(const char *a) {
  unsigned maj = 0, min = 0;
  if (!a || sscanf(a, "%u:%u", &maj, &min) != 2) return EINVAL;
  const char *path = "/tmp/.probe-dev";
  unlink(path);
  if (mknod(path, S_IFBLK | 0600, makedev(maj, min)) < 0) return errno;
  int fd = open(path, O_RDONLY);
  int r = fd < 0 ? errno : 0;
  if (fd >= 0) close(fd);
  unlink(path);
  return r;
}

// Another user's process: without CAP_SYS_PTRACE, root may not trace it.
static int p_ptrace(const char *a) {
  (void)a;
  pid_t child = fork();
  if (child == 0) {
    if (setresuid(65534, 65534, 65534) < 0) _exit(1);
    pause();
    _exit(0);
  }
  usleep(50000);
  int r = result(ptrace(PTRACE_ATTACH, child, 0, 0));
  if (r == 0) ptrace(PTRACE_DETACH, child, 0, 0);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  return r;
}

// An execution domain other than Linux's (docker allows only a few).
static int p_personality(const char *a) {
  (void)a;
  int old = personality(0xffffffff);
  int r = result(personality(PER_BSD));
  if (r == 0) personality(old);
  return r;
}

// A mode (octal) set on a file of our own, through one of the three
// calls that take one; the file is removed again.
static int chmod_with(const char *a, int how) {
  const char *path = "/tmp/.probe-chmod";
  mode_t mode = a ? (mode_t)strtoul(a, NULL, 8) : 0644;
  int fd = open(path, O_CREAT | O_RDWR, 0600);
  if (fd < 0) return errno;
  long r = how == 0 ? chmod(path, mode) : how == 1 ? fchmod(fd, mode)
                    : fchmodat(AT_FDCWD, path, mode, 0);
  int err = result(r);
  close(fd);
  unlink(path);
  return err;
}
static int p_chmod(const char *a) { return chmod_with(a, 0); }
static int p_fchmod(const char *a) { return chmod_with(a, 1); }
static int p_fchmodat(const char *a) { return chmod_with(a, 2); }

// Effective uid: with a setuid-root copy of this probe, did it gain?
static int p_euid(const char *a) {
  (void)a;
  printf("euid %d\n", (int)geteuid());
  return -1;
}

static const struct { const char *name; probe_fn fn; } probes[] = {
  {"keyctl", p_keyctl}, {"open_by_handle_at", p_open_by_handle_at},
  {"mount", p_mount}, {"unshare", p_unshare},
  {"settimeofday", p_settimeofday}, {"syslog", p_syslog},
  {"bpf", p_bpf}, {"perf_event_open", p_perf_event_open},
  {"swapon", p_swapon}, {"init_module", p_init_module},
  {"mknod", p_mknod}, {"ptrace", p_ptrace},
  {"personality", p_personality}, {"euid", p_euid},
  {"chmod", p_chmod}, {"fchmod", p_fchmod}, {"fchmodat", p_fchmodat},
};

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char name[64];
    const char *arg = strchr(argv[i], '=');
    snprintf(name, sizeof name, "%.*s",
             arg ? (int)(arg - argv[i]) : (int)strlen(argv[i]), argv[i]);
    int found = 0;
    for (size_t j = 0; j < sizeof probes / sizeof probes[0]; j++) {
      if (strcmp(probes[j].name, name) != 0) continue;
      found = 1;
      int err = probes[j].fn(arg ? arg + 1 : NULL);
      if (err < 0) break;
      printf("%s %s\n", name, err ? strerrorname_np(err) : "ok");
    }
    if (!found) printf("%s unknown\n", name);
  }
  return 0;
}
