// skiff daemon: the engine in the foreground (the CLI starts it in the
// background by itself when none answers).
import { defaultRoot, defaultSock } from '../paths.ts';
import type { Command } from './command.ts';
import { str } from './command.ts';

const command: Command = {
  usage: 'daemon [OPTIONS]',
  summary: 'Run the skiff daemon in the foreground',
  flags: [
    { name: 'root', kind: 'string', value: 'dir',
      help: 'Root directory of persistent state', default: defaultRoot() },
    { name: 'sock', kind: 'string', value: 'path',
      help: 'Unix socket to listen on', default: defaultSock() },
    { name: 'userns-remap', kind: 'string', value: 'default|uid:gid',
      help: 'User/Group setting for user namespaces' },
  ],
  maxArgs: 0,
  async run(p) {
    const { runDaemon } = await import('../daemon/main.ts');
    await runDaemon({ root: str(p, 'root')!, sock: str(p, 'sock')!,
      usernsRemap: str(p, 'userns-remap') });
    return new Promise<number>(() => {}); // serves until signalled
  },
};
export default command;
