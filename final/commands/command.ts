// What every command file exports, and what it is handed to run. One
// file per command under final/commands/, as crun and youki do.
import type { Client } from '../client.ts';
import { applyFormat } from '../format.ts';
import type { FlagSpec, Parsed } from '../flags.ts';

export interface Ctx {
  client: Client;
  /** Writes to stdout (tests capture it). */
  out(text: string): void;
}

export interface Command {
  /** "run [OPTIONS] IMAGE [COMMAND] [ARG...]" */
  usage: string;
  summary: string;
  flags: FlagSpec[];
  minArgs?: number;
  maxArgs?: number;
  /** Flags may follow arguments (`rm a -f`), as docker's non-run verbs. */
  interspersed?: boolean;
  /** Subcommands: `volume ls`, `network create`, `system prune`. */
  sub?: Record<string, () => Promise<{ default: Command }>>;
  /** Returns the process's exit code. */
  run?(p: Parsed, ctx: Ctx): Promise<number>;
}

export const FORMAT_FLAG: FlagSpec = {
  name: 'format', kind: 'string', value: 'string',
  help: 'Format output: "json" or a Go-template-like "{{.Field}}"',
};

/** --format as inspect, info and version take it: docker's -f too. */
export const INSPECT_FORMAT: FlagSpec = { ...FORMAT_FLAG, short: 'f' };

/** A flag's string value, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}

/**
 * Runs `fn` for each named container, as docker's stop/rm/kill do: a
 * failure is printed and the others still run; exit 1 if any failed.
 */
export async function forEach(names: string[],
  fn: (name: string) => Promise<string | void>, ctx: Ctx)
  : Promise<number> {
  let failed = 0;
  for (const name of names) {
    try {
      const out = await fn(name);
      ctx.out(`${out ?? name}\n`);
    } catch (err) {
      process.stderr.write(`Error response from daemon: ${
        (err as Error).message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

export const q = encodeURIComponent;

/** Prints `objects` as docker's inspect does: JSON, or --format each. */
export function printInspected(p: Parsed, ctx: Ctx, objects: unknown[])
  : void {
  const format = str(p, 'format');
  ctx.out(format ? objects.map((o) => applyFormat(format,
    o as Record<string, unknown>) + '\n').join('')
    : JSON.stringify(objects, null, 4) + '\n');
}

/** `image|network|volume inspect`: the daemon's JSON for each name. */
export function inspectCommand(object: string,
  path: (name: string) => string): Command {
  return {
    usage: `${object} inspect [OPTIONS] ${object.toUpperCase()} ` +
      `[${object.toUpperCase()}...]`,
    summary: `Display detailed information on one or more ${object}s`,
    flags: [INSPECT_FORMAT],
    minArgs: 1,
    // As docker's: what was found is printed, each miss is a line on
    // stderr, and any miss makes the exit status 1.
    async run(p, ctx) {
      const out = [];
      let failed = 0;
      for (const n of p.args) {
        try {
          out.push(await ctx.client.call('GET', path(n)));
        } catch (err) {
          process.stderr.write(`Error response from daemon: ${
            (err as Error).message}\n`);
          failed++;
        }
      }
      printInspected(p, ctx, out);
      return failed ? 1 : 0;
    },
  };
}

/**
 * `network COMMAND`, `volume COMMAND`: a management command whose
 * subcommands are these, with docker's aliases (list for ls, remove
 * for rm).
 */
export function management(object: string, summary: string,
  subs: Record<string, Command>): Command {
  const sub: Command['sub'] = {};
  for (const [name, cmd] of Object.entries(subs)) {
    sub[name] = async () => ({ default: cmd });
  }
  if (subs.ls) sub.list = sub.ls;
  if (subs.rm) sub.remove = sub.rm;
  return { usage: `${object} COMMAND`, summary, flags: [], sub };
}
