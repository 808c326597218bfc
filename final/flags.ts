// Command-line flags the way docker (spf13/pflag) reads them: `-it`
// bundles short booleans, `-e A=1` and `-eA=1` and `--env=A=1` and
// `--env A=1` are the same, repeated flags accumulate, and the first
// word that is not a flag ends the flags (so `run busybox ls -l` gives
// `-l` to ls). Kept free of imports: the CLI loads it on every call.

export interface FlagSpec {
  /** Long name without dashes: "env". */
  name: string;
  /** One-letter alias: "e". */
  short?: string;
  /** bool: no value; string: last one wins; list: every one kept. */
  kind: 'bool' | 'string' | 'list';
  help: string;
  /** Shown in --help as the value's name: "list", "int", "string". */
  value?: string;
  default?: string;
}

export interface Parsed {
  flags: Record<string, string | string[] | boolean | undefined>;
  args: string[];
}

/** A usage error: docker prints it and exits 125. */
export class UsageError extends Error {
  readonly exitCode = 125;
}

export function parseFlags(argv: string[], specs: FlagSpec[],
  interspersed = false): Parsed {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short)
    .map((s) => [s.short!, s]));
  const flags: Parsed['flags'] = {};
  const args: string[] = [];
  const set = (spec: FlagSpec, value: string | true) => {
    if (spec.kind === 'bool') {
      flags[spec.name] = value === true || !/^(false|0)$/.test(value);
    } else if (spec.kind === 'list') {
      const list = (flags[spec.name] as string[] | undefined) ?? [];
      flags[spec.name] = [...list, String(value)];
    } else {
      flags[spec.name] = String(value);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(arg);
      continue;
    }
    const next = (spec: FlagSpec, shown: string): string => {
      if (i + 1 >= argv.length) {
        throw new UsageError(`flag needs an argument: ${shown}`);
      }
      return argv[++i];
    };
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, arg.slice(eq + 1));
      else set(spec, spec.kind === 'bool' ? true : next(spec, `--${name}`));
      continue;
    }
    // A bundle of short flags: -it, -p8080:80, -e=A=1.
    for (let j = 1; j < arg.length; j++) {
      const spec = byShort.get(arg[j]);
      if (!spec) {
        throw new UsageError(`unknown shorthand flag: '${arg[j]}' in ${arg}`);
      }
      if (spec.kind === 'bool') {
        if (arg[j + 1] === '=') {
          set(spec, arg.slice(j + 2));
          break;
        }
        set(spec, true);
        continue;
      }
      const rest = arg.slice(j + 1).replace(/^=/, '');
      set(spec, rest !== '' ? rest : next(spec, `-${arg[j]}`));
      break;
    }
  }
  for (const s of specs) {
    if (flags[s.name] === undefined && s.default !== undefined) {
      flags[s.name] = s.kind === 'bool' ? s.default === 'true'
        : s.kind === 'list' ? [] : s.default;
    }
  }
  return { flags, args };
}

/** The "Options:" block of --help, aligned like docker's. */
export function formatFlags(specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = (s.short ? `-${s.short}, ` : '    ') + `--${s.name}`;
    const value = s.kind === 'bool' ? '' : ` ${s.value ?? s.kind}`;
    const dflt = s.default && s.kind !== 'bool'
      ? ` (default ${JSON.stringify(s.default)})` : '';
    return [`  ${names}${value}`, `${s.help}${dflt}`];
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 3;
  return rows.map(([l, r]) => l.padEnd(width) + r).join('\n');
}
