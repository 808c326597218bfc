// `skiff-runtime run ID --bundle DIR`: create and start in one go. In
// the foreground it stays the container's parent: it relays signals
// (and a terminal), waits, deletes the container and exits with the
// command's code, as `runc run` does.
import { create, type CreateOptions } from './create.ts';
import { remove } from './delete.ts';
import { start } from './start.ts';
import type { Store } from './store.ts';
import { relayTerminal } from './terminal.ts';

const RELAYED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP',
  'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

// #region run
export async function run(store: Store, id: string,
  o: CreateOptions & { detach?: boolean },
  warn: (msg: string) => void): Promise<number> {
  const tty = process.stdout.isTTY && !o.detach;
  const { container } = await create(store, id, { ...o,
    foreground: !o.detach, consoleSize: tty ? { height:
      process.stdout.rows, width: process.stdout.columns } : undefined });
  const stopRelay = container.console !== undefined && !o.consoleSocket
    ? relayTerminal(container.console) : () => {};
  try {
    await start(store, id, warn);
  } catch (err) {
    stopRelay();
    await remove(store, id, true, warn);
    throw err;
  }
  if (o.detach) return 0;
  for (const sig of RELAYED) process.on(sig, () => container.kill(sig));
  const status = await container.wait();
  stopRelay();
  await remove(store, id, true, warn);
  return status.code;
}
// #endregion
