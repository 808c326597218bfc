// nsexec: skiff's single-threaded trampoline into new namespaces.
//
// Node runs several threads, and the kernel refuses some namespace work
// to a multithreaded caller: unshare(CLONE_NEWUSER) and setns() into a
// user namespace need a single thread (unshare(2), setns(2)), and fork()
// from JavaScript crashes. So the engine spawns this small C program,
// which does that part and then execs the re-executed init (Node).
// runc does the same with its C "nsexec", which runs in a constructor
// before the Go runtime starts its threads.
//
//   nsexec spawn [-U] [-f FLAGS] [-j PATH]... [-k PATH] [-b|-B PATH]...
//          -- PROG ARGS...
//     -U        create a user namespace; the engine writes its id maps
//     -f FLAGS  other CLONE_NEW* flags to unshare (decimal)
//     -j PATH   join the namespace at PATH (/proc/N/ns/net) with setns
//     -k PATH   open PATH, keep the fd for the init, and tell it (mnt ns)
//     -b PATH   clone the mount at PATH for the init to bind (-B: with
//               the mounts below it), while we are still the host's root
//   nsexec -- CMD ARGS...
//     a minimal PID 1 (like tini, `docker run --init`): runs CMD,
//     forwards signals to it and reaps orphaned zombies.
//
// Protocol on fd 3 (a socket to the engine): we write "U\n" after
// creating the user namespace and wait for the engine's one byte, "M",
// once the maps are written; we write "P <pid>\n" with the init's host
// pid, then exit. Errors go, as one line, to fd 5: the error pipe. The
// whole conversation, the init's part included, is in protocol.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_FD 3
#define ERROR_FD 5
#define MAX_JOIN 16
#define MAX_BIND 64
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_execveat
#define SYS_execveat 322
#endif
#define OPEN_TREE_CLONE 1
#define AT_RECURSIVE_ 0x8000

// #region fail
// One line to the engine's error pipe, then exit: the engine turns it
// into its own error (exit status 125) and cleans up.
static void fail(const char *what, const char *object) {
  char line[512];
  int n = snprintf(line, sizeof line, "%s %s: %s\n", what, object,
                   strerrorname_np(errno) ? strerrorname_np(errno)
                                          : strerror(errno));
  if (write(ERROR_FD, line, n) < 0) { /* nothing more we can do */ }
  _exit(1);
}
// #endregion

static void say(const char *msg) {
  if (write(SYNC_FD, msg, strlen(msg)) < 0) fail("write", "sync pipe");
}

// #region become-root
// A fresh user namespace starts with no mapped ids and so no uid at all;
// once the engine has written uid_map and gid_map, become root in it.
// Root keeps its capabilities across execve(2); an unmapped id would
// lose them. Order matters: groups and gid while we may still change them.
static void become_root(void) {
  if (setgroups(0, NULL) < 0) fail("setgroups", "0");
  if (setresgid(0, 0, 0) < 0) fail("setresgid", "0");
  if (setresuid(0, 0, 0) < 0) fail("setresuid", "0");
}
// #endregion

// #region user-ns
static void new_user_ns(void) {
  char ack;
  if (unshare(CLONE_NEWUSER) < 0) fail("unshare", "CLONE_NEWUSER");
  // The engine may write /proc/PID/uid_map only while we are dumpable.
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  say("U\n");
  if (read(SYNC_FD, &ack, 1) != 1) fail("read", "sync pipe (id maps)");
  become_root();
}
// #endregion

// #region join
// setns(2) into each existing namespace we were given. A user namespace
// comes first: it decides what privileges the following joins have.
static void join_all(char **paths, int n) {
  int fds[MAX_JOIN];
  for (int i = 0; i < n; i++) {  // open all first: /proc may change below
    fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) fail("open", paths[i]);
  }
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < n; i++) {
      int is_user = strstr(paths[i], "/user") != NULL;
      if (fds[i] < 0 || is_user != (pass == 0)) continue;
      if (setns(fds[i], 0) < 0) fail("setns", paths[i]);
      close(fds[i]);
      fds[i] = -1;
      if (is_user) become_root();
    }
  }
}
// #endregion

// #region bind-sources
// Bind mount sources are host paths, and the init that mounts them is
// root only in its user namespace: mapped to an unprivileged host uid,
// it may not even reach /root/data. So we clone each source's mount
// now, as the host's root, with open_tree(2); the init attaches the
// clone inside the container with move_mount(2). An fd opened with
// O_PATH would not do: mount(2) refuses a source from another mount
// namespace. The fds go to the init listed in SKIFF_BIND_FDS.
static void clone_sources(char **paths, int *recursive, int n) {
  char list[MAX_BIND * 8] = "";
  for (int i = 0; i < n; i++) {
    int fd = syscall(SYS_open_tree, AT_FDCWD, paths[i],
                     OPEN_TREE_CLONE | (recursive[i] ? AT_RECURSIVE_ : 0));
    if (fd < 0) fail("bind mount source", paths[i]);
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d",
             i ? "," : "", fd);
  }
  if (n) setenv("SKIFF_BIND_FDS", list, 1);
}
// #endregion

// #region open-program (unused)
// The program (node) is opened now, as the host's root, and executed
// by fd with execveat(2) once we are root of a new user namespace: an
// unprivileged host uid by then, we might lack search permission on
// its path (node under a 0700 home, as nvm installs it). Executing an
// open fd checks only the file's own x bit.
static int open_program(const char *path) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  return fd;
}
// #endregion

// #region spawn
static int spawn(int argc, char **argv) {
  char *join[MAX_JOIN], *bind[MAX_BIND];
  int njoin = 0, nbind = 0, recursive[MAX_BIND], user = 0, flags = 0, opt;
  char *keep = NULL;
  while ((opt = getopt(argc, argv, "+Uf:j:k:b:B:")) != -1) {
    if (opt == 'U') user = 1;
    else if (opt == 'f') flags = atoi(optarg);
    else if (opt == 'j' && njoin < MAX_JOIN) join[njoin++] = optarg;
    else if (opt == 'k') keep = optarg;
    else if ((opt == 'b' || opt == 'B') && nbind < MAX_BIND) {
      recursive[nbind] = opt == 'B';
      bind[nbind++] = optarg;
    } else { errno = EINVAL; fail("nsexec", "usage"); }
  }
  if (optind >= argc) { errno = EINVAL; fail("nsexec", "no program"); }
  int exe = open_program(argv[optind]);
  clone_sources(bind, recursive, nbind);
  if (keep) {  // e.g. the container's mount ns, for the init to enter
    int fd = open(keep, O_RDONLY);  // no O_CLOEXEC: the init needs it
    if (fd < 0) fail("open", keep);
    char env[32];
    snprintf(env, sizeof env, "%d", fd);
    setenv("SKIFF_KEEP_FD", env, 1);
  }
  // #endregion
  // #region spawn-order
  join_all(join, njoin);
  if (user) new_user_ns();
  // A new pid namespace applies to our children only, so it goes last
  // and the init we clone below is its PID 1 (pid_namespaces(7)).
  if (flags && unshare(flags) < 0) fail("unshare", "namespaces");
  // CLONE_PARENT: the init becomes the engine's child, not ours, so we
  // can exit now and the engine alone waits for the container.
  pid_t pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) fail("clone", "init");
  if (pid == 0) {
    syscall(SYS_execveat, exe, "", argv + optind, environ, AT_EMPTY_PATH);
    fail("exec", argv[optind]);
  }
  char msg[32];
  snprintf(msg, sizeof msg, "P %d\n", pid);
  say(msg);
  return 0;
}
// #endregion

// #region init
// `docker run --init`: PID 1 of a pid namespace has two duties a normal
// program ignores. Orphans are re-parented to it, and their zombies stay
// until it waits for them; and the kernel delivers it only signals it
// handles. So we run the command as a child, forward every signal to
// it, reap whatever dies, and exit with the command's status.
static int init(char **cmd) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) { perror("init: fork"); return 125; }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(cmd[0], cmd);
    fprintf(stderr, "init: exec %s: %s\n", cmd[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue;  // an orphan's zombie: reaped, done
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return WEXITSTATUS(status);
    }
  }
}
// #endregion

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--") == 0) return init(argv + 2);
  if (argc > 1 && strcmp(argv[1], "spawn") == 0) {
    return spawn(argc - 1, argv + 1);
  }
  fprintf(stderr, "usage: nsexec spawn [options] -- prog args...\n"
                  "       nsexec -- cmd args...\n");
  return 2;
}
