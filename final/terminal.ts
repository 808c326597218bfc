// The caller's terminal during `run -it`, `exec -it` and `attach`: raw,
// as cfmakeraw(3) makes it and Docker's CLI does (moby/term MakeRaw).
// Node's setRawMode is not quite that: libuv leaves output processing
// on (OPOST with ONLCR), so each "\r\n" the container's own terminal
// already wrote would reach the screen as "\r\r\n".
import { plain, syscall } from '../chapters/01-chroot/kernel.ts';

// #region make-raw
// struct termios is 60 bytes in glibc; cfmakeraw changes it in place.
const tcgetattr = syscall<[number, Buffer]>(
  'int tcgetattr(int fd, void *termios)');
const tcsetattr = syscall<[number, number, Buffer]>(
  'int tcsetattr(int fd, int when, const void *termios)');
const cfmakeraw = plain<(termios: Buffer) => void>(
  'void cfmakeraw(void *termios)');
const TCSANOW = 0;

/** Makes the terminal on `fd` raw; returns what puts it back. */
export function makeRaw(fd: number): () => void {
  const saved = Buffer.alloc(64);
  tcgetattr(fd, saved);
  const raw = Buffer.from(saved);
  cfmakeraw(raw);
  tcsetattr(fd, TCSANOW, raw);
  return () => {
    try {
      tcsetattr(fd, TCSANOW, saved);
    } catch { /* the terminal is gone: nothing to put back */ }
  };
}
// #endregion
