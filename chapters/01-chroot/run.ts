// Demo: run a command with a directory as its root.
//
//   sudo npx tsx chapters/01-chroot/run.ts /tmp/rootfs /bin/ls /
import { resolve } from 'node:path';
import {
  checkRootfs, DEFAULT_ENV, enterRoot, execCommand,
} from './chroot.ts';
import { exitWithError } from './fail.ts';

// #region main
function main(args: string[]): never {
  const [rootfs, ...command] = args;
  if (!rootfs || command.length === 0) {
    throw new Error('usage: run.ts <rootfs> <command> [args...]');
  }
  checkRootfs(resolve(rootfs));
  enterRoot(resolve(rootfs));
  return execCommand(command, DEFAULT_ENV);
}
// #endregion

try {
  main(process.argv.slice(2));
} catch (err) {
  exitWithError(err);
}
