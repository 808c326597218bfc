// The times docker's `--since` and `--until` take, and the one form the
// API carries. The client turns "10m", "2026-12-04T17:00:00Z" or
// "2026-12-04" into Unix seconds ("1796410800.000000000") before it
// sends the request: "ten minutes ago" is by the user's clock, not the
// daemon's. The daemon reads only seconds, with an optional fraction
// (moby's api/types/time: GetTimestamp in the CLI, ParseTimestamps in
// the daemon).

/** One term of a Go duration ("1h30m", "1.5s", "300ms"), in ms. */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000,
  h: 3_600_000,
};
const DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/;
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g;
const DATE = new RegExp('^(\\d{4})-(\\d\\d)-(\\d\\d)(?:T(\\d\\d)' +
  '(?::(\\d\\d)(?::(\\d\\d)(?:\\.(\\d{1,9}))?)?)?)?' +
  '([zZ]|[+-]\\d\\d:\\d\\d)?$');

/** A Go duration in ms (time.ParseDuration), or undefined. */
export function parseDuration(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let ms = 0;
  for (const [, n, unit] of value.matchAll(TERM)) {
    ms += Number(n) * UNIT_MS[unit];
  }
  return value.startsWith('-') ? -ms : ms;
}

// #region client-timestamp (unused)
/**
 * The API's form of a time a user typed (docker's GetTimestamp): a
 * duration before `now` ("10m"; "-10m" is after it), an RFC 3339 time
 * or date (local time without a zone), or Unix seconds as they are.
 */
export function clientTimestamp(value: string, now = Date.now()): string {
  const ms = value === '0' ? undefined : parseDuration(value);
  if (ms !== undefined) return String(Math.floor((now - ms) / 1000));
  const m = DATE.exec(value);
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
    const fields = [+y, +mo - 1, +d, +h, +mi, +s] as const;
    // Date rolls "2026-13-45" over into 2027; Go refuses it.
    const utc = new Date(Date.UTC(...fields));
    const real = utc.getUTCMonth() === fields[1] &&
      utc.getUTCDate() === fields[2] && utc.getUTCHours() === fields[3] &&
      utc.getUTCMinutes() === fields[4] && utc.getUTCSeconds() === fields[5];
    let secs = (zone ? Date.UTC(...fields) : new Date(...fields)
      .getTime()) / 1000;
    if (zone && !/z/i.test(zone)) {
      const sign = zone[0] === '-' ? -1 : 1;
      secs -= sign * (+zone.slice(1, 3) * 3600 + +zone.slice(4) * 60);
    }
    if (real) return `${secs}.${frac.padEnd(9, '0')}`;
  }
  if (!value.includes('-')) {
    try {
      parseTimestamp(value);
      return value;
    } catch { /* said below */ }
  }
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}
// #endregion

/** Unix seconds with an optional fraction, as ms (docker's daemon). */
export function parseTimestamp(value: string): number {
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(value);
  if (!m) throw new Error(`"${value}" is not Unix seconds`);
  const fraction = Number(`0.${m[2] ?? '0'}`);
  return (Number(m[1]) + (m[1].startsWith('-') ? -fraction : fraction))
    * 1000;
}
