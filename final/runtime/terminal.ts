// A terminal relayed in the foreground (`run` or `exec` with
// process.terminal and no --console-socket, as runc does): our stdin
// raw into the container's terminal master, its output to our stdout.
import { createReadStream, createWriteStream } from 'node:fs';
import { makeRaw } from '../terminal.ts';

export function relayTerminal(master: number): () => void {
  const restore = process.stdin.isTTY ? makeRaw(0) : () => {};
  const out = createReadStream('', { fd: master, autoClose: false });
  const into = createWriteStream('', { fd: master, autoClose: false });
  out.pipe(process.stdout);
  out.on('error', () => {}); // EIO once the last slave closes
  process.stdin.pipe(into);
  return () => {
    restore();
    process.stdin.unpipe(into);
    process.stdin.pause();
    out.destroy();
  };
}
