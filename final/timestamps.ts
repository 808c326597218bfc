// The moments docker's `--since`, `--until` and `until` filters take,
// parsed once for the CLI and the daemon. The client turns "10m",
// "2026-12-04T17:00:00Z" or "2026-12-04" into Unix seconds
// ("1796410800.000000000") before it sends the request: "ten minutes
// ago" is by the user's clock, not the daemon's. The daemon's routes
// read only seconds with an optional fraction; prune's `until` filter
// takes any form (moby's api/types/time: GetTimestamp, then
// ParseTimestamps). Durations are Go's, read by durations.ts.
import { parseDuration } from './durations.ts';

const DATE = new RegExp('^(\\d{4})-(\\d\\d)-(\\d\\d)(?:T(\\d\\d)' +
  '(?::(\\d\\d)(?::(\\d\\d)(?:\\.(\\d{1,9}))?)?)?)?' +
  '([zZ]|[+-]\\d\\d:\\d\\d)?$');

/** A Go duration in ns, or undefined when `value` is not one. */
function duration(value: string): number | undefined {
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

// #region client-timestamp (unused)
/**
 * The API's form of a time a user typed (docker's GetTimestamp): a
 * duration before `now` ("10m"; "-10m" is after it), an RFC 3339 time
 * or date (local time without a zone), or Unix seconds as they are.
 */
export function clientTimestamp(value: string, now = Date.now()): string {
  const ns = value === '0' ? undefined : duration(value);
  if (ns !== undefined) return String(Math.floor((now - ns / 1e6) / 1000));
  const at = rfc3339Ns(value);
  if (at !== undefined) {
    const secs = at / 1_000_000_000n - (at % 1_000_000_000n < 0n ? 1n : 0n);
    const frac = at - secs * 1_000_000_000n;
    return `${secs}.${String(frac).padStart(9, '0')}`;
  }
  if (!value.includes('-') && unixNs(value) !== undefined) return value;
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}
// #endregion

/**
 * An RFC 3339 time (nanoseconds kept), or a date, in ns since the
 * epoch; local time without a zone, as Go's ParseInLocation. Undefined
 * for anything else, "2026-13-45" too (Date would roll it over).
 */
export function rfc3339Ns(value: string): bigint | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const fields = [+y, +mo - 1, +d, +h, +mi, +s] as const;
  const utc = new Date(Date.UTC(...fields));
  const real = utc.getUTCMonth() === fields[1] &&
    utc.getUTCDate() === fields[2] && utc.getUTCHours() === fields[3] &&
    utc.getUTCMinutes() === fields[4] && utc.getUTCSeconds() === fields[5];
  if (!real) return undefined;
  let secs = (zone ? utc.getTime() : new Date(...fields).getTime()) / 1000;
  if (zone && !/z/i.test(zone)) {
    const sign = zone[0] === '-' ? -1 : 1;
    secs -= sign * (+zone.slice(1, 3) * 3600 + +zone.slice(4) * 60);
  }
  return BigInt(secs) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}

/**
 * Unix seconds with an optional fraction, in ns, as the daemon reads
 * `since` and `until` (moby's ParseTimestamps); undefined otherwise.
 */
export function unixNs(value: string): bigint | undefined {
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) return undefined;
  // Digits past the ninth are below a nanosecond: dropped, as moby does.
  return BigInt(m[1]) * 1_000_000_000n + BigInt((m[2] ?? '')
    .slice(0, 9).padEnd(9, '0'));
}

/** Unix seconds with an optional fraction, as ms; throws otherwise. */
export function parseTimestamp(value: string): number {
  const ns = unixNs(value);
  if (ns === undefined) throw new Error(`"${value}" is not Unix seconds`);
  return Number(ns) / 1e6;
}

/**
 * Any form docker's clients take, in ns since the epoch: what prune's
 * `until` filter reads (GetTimestamp, then ParseTimestamps). Throws
 * docker's "failed to parse value as time or duration".
 */
export function timestampNs(value: string, now = Date.now()): bigint {
  const ns = unixNs(clientTimestamp(value, now));
  if (ns === undefined) {
    throw new Error(`failed to parse value as time or duration: "${value}"`);
  }
  return ns;
}
