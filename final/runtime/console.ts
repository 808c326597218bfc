// The console socket protocol of runc, which containerd's shim and
// conmon speak: with process.terminal, the runtime connects to the
// AF_UNIX socket the caller named (--console-socket) and sends the
// terminal's master as SCM_RIGHTS (unix(7)). The caller then owns the
// container's terminal; the runtime can exit.
import { closeSync } from 'node:fs';
import { syscall } from '../../chapters/01-chroot/kernel.ts';
import { sendFds } from '../../chapters/02-namespaces/console.ts';

const socket = syscall<[number, number, number]>(
  'int socket(int domain, int type, int protocol)');
const connect = syscall<[number, Buffer, number]>(
  'int connect(int fd, const void *addr, uint32_t len)');
const AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0o2000000;

// #region send-console
/** Sends `master` to the listener at `path`; throws naming the socket. */
export function sendConsole(path: string, master: number): void {
  // struct sockaddr_un: sa_family_t, then a 108-byte path.
  const addr = Buffer.alloc(110);
  addr.writeUInt16LE(AF_UNIX, 0);
  if (Buffer.byteLength(path) > 107) {
    throw new Error(`console socket ${path}: path too long`);
  }
  addr.write(path, 2);
  const fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  try {
    connect(fd, addr, addr.length);
    sendFds(fd, [master]);
  } catch (err) {
    throw new Error(`console socket ${path}: ${
      (err as { code?: string }).code ?? (err as Error).message}`,
    { cause: err });
  } finally {
    closeSync(fd);
  }
}
// #endregion
