// The one place a demo turns an error into a line and an exit code.
import { ExecError } from './chroot.ts';

/** Docker's exit codes: 125 for the engine, 126/127 for the command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ExecError) return err.exitCode;
  const code = (err as { exitCode?: unknown })?.exitCode;
  return typeof code === 'number' ? code : 125;
}

export function exitWithError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`skiff: ${message}\n`);
  if (process.env.SKIFF_DEBUG && err instanceof Error) {
    console.error(err);
  }
  process.exit(exitCodeOf(err));
}
