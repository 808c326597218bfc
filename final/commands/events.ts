// skiff events: what happens in the daemon, as it happens (GET /events),
// one line an event in docker's words:
//   2026-12-04T20:30:00.123456789Z container start 3f2a… (image=busybox,
//   name=web)
import { StringDecoder } from 'node:string_decoder';
import { applyFormat } from '../format.ts';
import { UsageError } from '../flags.ts';
import { clientTimestamp } from '../timestamps.ts';
import type { Command } from './command.ts';
import { FORMAT_FLAG, list, str } from './command.ts';

interface Message {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  scope?: string;
  time: number;
  timeNano?: number;
  status?: string;
  id?: string;
  from?: string;
}

/** `--filter k=v`, repeated, as docker's CLI sends it: {"k":{"v":true}}. */
function filtersQuery(values: string[]): string | undefined {
  if (!values.length) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at < 1) {
      throw new UsageError(`bad format of filter (expected name=value): ${
        value}`);
    }
    (out[value.slice(0, at)] ??= {})[value.slice(at + 1)] = true;
  }
  return JSON.stringify(out);
}

/** A --since or --until as the API's Unix seconds; bad input is 125. */
function when(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    return clientTimestamp(value);
  } catch (err) {
    throw new UsageError(`invalid value for "${flag}": ${
      (err as Error).message}`, { cause: err });
  }
}

/**
 * docker's line: the time in the local zone with nine decimals (Go's
 * RFC3339NanoFixed), type, action, actor, then the attributes sorted.
 * `nanos` is timeNano as the daemon wrote it: a double would round it.
 */
export function eventLine(e: Message, nanos: string): string {
  const attrs = Object.entries(e.Actor.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join(', ');
  return `${localTime(nanos)} ${e.Type} ${e.Action} ${e.Actor.ID}` +
    `${attrs ? ` (${attrs})` : ''}\n`;
}

/** "2026-12-04T20:30:00.123456789Z", or "+01:00" east of Greenwich. */
function localTime(nanos: string): string {
  const digits = nanos.padStart(10, '0');
  const secs = Number(digits.slice(0, -9));
  const date = new Date(secs * 1000);
  const offset = -date.getTimezoneOffset();
  const local = new Date((secs + offset * 60) * 1000).toISOString();
  const abs = Math.abs(offset);
  const zone = offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${
    String(Math.floor(abs / 60)).padStart(2, '0')}:${
    String(abs % 60).padStart(2, '0')}`;
  return `${local.slice(0, 19)}.${digits.slice(-9)}${zone}`;
}

/** The fields a --format template sees, by their Go names. */
function templateFields(e: Message): Record<string, unknown> {
  return { Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '',
    Type: e.Type, Action: e.Action,
    Actor: { ID: e.Actor.ID, Attributes: e.Actor.Attributes ?? {} },
    Scope: e.scope ?? '', Time: e.time, TimeNano: e.timeNano };
}

function print(line: string, format: string | undefined): string {
  const event = JSON.parse(line) as Message;
  if (format === 'json' || format === '{{json .}}') return `${line}\n`;
  if (format) return `${applyFormat(format, templateFields(event))}\n`;
  const nanos = /"timeNano":\s*(\d+)/.exec(line)?.[1] ??
    `${event.time}000000000`;
  return eventLine(event, nanos);
}

const command: Command = {
  usage: 'events [OPTIONS]',
  summary: 'Get real time events from the server',
  flags: [
    { name: 'filter', short: 'f', kind: 'list', value: 'filter',
      help: 'Filter output based on conditions provided' },
    { name: 'since', kind: 'string',
      help: 'Show all events created since timestamp' },
    { name: 'until', kind: 'string', help: 'Stream events until this ' +
      'timestamp' },
    FORMAT_FLAG,
  ],
  maxArgs: 0,
  async run(p, ctx) {
    const query = new URLSearchParams();
    const since = when(str(p, 'since'), 'since');
    const until = when(str(p, 'until'), 'until');
    const filters = filtersQuery(list(p, 'filter'));
    if (since !== undefined) query.set('since', since);
    if (until !== undefined) query.set('until', until);
    if (filters) query.set('filters', filters);
    const res = await ctx.client.stream('GET', `/events?${query}`);
    const format = str(p, 'format');
    const text = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of res) {
      rest += text.write(chunk as Buffer);
      const lines = rest.split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.trim()) ctx.out(print(line, format));
      }
    }
    return 0;
  },
};
export default command;
