// skiff run: create, attach, start, wait - the calls docker's CLI makes.
import { ApiError } from '../client.ts';
import type { Command, Ctx } from './command.ts';
import { bool, str } from './command.ts';
import type { Parsed } from '../flags.ts';
import { CREATE_FLAGS, createBody } from './run-flags.ts';
import {
  checkTty, consoleSize, openAttach, pump, resizeTty, startFailureCode,
} from './streams.ts';

// #region create
export async function createContainer(ctx: Ctx, p: Parsed)
  : Promise<string> {
  const body = createBody(p);
  const size = bool(p, 'tty') ? consoleSize() : undefined;
  if (size) body.HostConfig = { ...body.HostConfig, ConsoleSize: size };
  const name = str(p, 'name');
  const path = `/containers/create${name ? `?name=${
    encodeURIComponent(name)}` : ''}`;
  try {
    return (await ctx.client.call('POST', path, body)).Id;
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 &&
      /^No such image/.test(err.message))) throw err;
    // As docker's CLI: pull the image (its lines on stderr), create again
    const ref = err.message.replace(/^No such image: /, '');
    process.stderr.write(`Unable to find image '${ref}' locally\n`);
    const { pullImage } = await import('./pull.ts');
    await pullImage(ctx.client, ref, (s) => process.stderr.write(s));
    return (await ctx.client.call('POST', path, body)).Id;
  }
}
// #endregion

// #region run
async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const { client } = ctx;
  const tty = bool(p, 'tty');
  const stdin = bool(p, 'interactive');
  if (!bool(p, 'detach')) checkTty(stdin, tty);
  const id = await createContainer(ctx, p);
  if (bool(p, 'detach')) {
    await start(ctx, id, bool(p, 'rm'));
    ctx.out(`${id}\n`);
    return 0;
  }
  const opts = { id, tty, stdin };
  // Ask for the exit code before starting, so a quick exit is not missed
  // (while the attach is set up: it waits on no answer).
  const condition = bool(p, 'rm') ? 'removed' : 'next-exit';
  const exit = client.call<{ StatusCode: number }>('POST',
    `/containers/${id}/wait?condition=${condition}`);
  exit.catch(() => {});
  const sock = await openAttach(client, opts);
  const streamed = pump(client, sock, opts);
  try {
    await start(ctx, id, bool(p, 'rm'));
  } catch (err) {
    sock.destroy();
    throw err;
  }
  if (tty) await resizeTty(client, id);
  if (await streamed === 'detached') return 0;
  return (await exit).StatusCode;
}
// #endregion

async function start(ctx: Ctx, id: string, autoRemove: boolean)
  : Promise<void> {
  try {
    await ctx.client.call('POST', `/containers/${id}/start`);
  } catch (err) {
    if (autoRemove) {
      await ctx.client.request('DELETE', `/containers/${id}?force=1`)
        .catch(() => {});
    }
    if (err instanceof ApiError) {
      throw Object.assign(err, { exitCode:
        startFailureCode(err.message, err.exitCode) });
    }
    throw err;
  }
}

const command: Command = {
  usage: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create and run a new container from an image',
  flags: [
    { name: 'detach', short: 'd', kind: 'bool',
      help: 'Run container in background and print container ID' },
    { name: 'rm', kind: 'bool',
      help: 'Automatically remove the container when it exits' },
    ...CREATE_FLAGS,
  ],
  minArgs: 1,
  interspersed: false,
  run,
};
export default command;
