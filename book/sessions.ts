// Runnable sessions: shell sessions in the text that the tests run.
//
// A fence opened with ```console runnable is a session: lines starting
// with "$ " are commands, the lines after each are its expected output
// (stdout and stderr together, as a terminal shows them). In expected
// output, a line that is just "..." stands for any number of lines, and
// "..." inside a line for any text, so output that varies (pids, dates,
// the host's own files) is written as `pid ...`.
//
// ```console runnable cgroup=v2 is output only a cgroup v2 host prints
// (cgroup=v1: a v1 or hybrid host): it runs only on such a host, so a
// page shows each version's session and every host checks its own.
//
// All sessions of one page run in order in one bash, as root, from the
// repo root, with "sudo " dropped and `npx tsx` replaced by
// `node --import tsx` (same code, a second less per command). The shell
// gets a private mount namespace with a fresh tmpfs on /tmp, a
// copy-on-write /etc and cgroup trees of its own, so a session's
// `/tmp/rootfs`, `tee /etc/...` or the demos' /skiff never touch the
// host's.
import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statfsSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cgroupRoots, uniqueName } from '../support/testing.ts';
import {
  type CgroupVersion, createMarkdown, parseFenceInfo,
} from './markdown.ts';

export interface Command {
  /** As written in the text, without the "$ ". */
  text: string;
  expected: string[];
  /** 1-based line in the markdown file. */
  line: number;
  /** Runs only on a host with this cgroup version (fence `cgroup=`). */
  cgroup?: CgroupVersion;
}

/** The commands of every runnable session of a markdown file, in order. */
export function sessionsOf(markdown: string): Command[] {
  const commands: Command[] = [];
  const tokens = createMarkdown().parse(markdown, {});
  for (const token of tokens) {
    if (token.type !== 'fence') continue;
    const info = parseFenceInfo(token.info);
    if (info.lang !== 'console' || !info.runnable) continue;
    const first = (token.map?.[0] ?? 0) + 2;
    let current: Command | undefined;
    token.content.replace(/\n$/, '').split('\n').forEach((line, i) => {
      const cmd = /^\$ (.*)$/.exec(line);
      if (cmd) {
        current = { text: cmd[1], expected: [], line: first + i };
        if (info.cgroup) current.cgroup = info.cgroup;
        commands.push(current);
      } else if (current && /\\$/.test(current.text) &&
        current.expected.length === 0) {
        current.text += `\n${line}`; // a continued command line
      } else if (current) {
        current.expected.push(line);
      }
    });
  }
  return commands;
}

/** What the test runs for a command shown as `sudo npx tsx x.ts`. */
export function toShell(text: string): string {
  return text.replace(/(^|[|;&(]\s*)sudo\s+/g, '$1')
    .replace(/\bnpx tsx\b/g, 'node --import tsx');
}

/**
 * Does the output match the text? Lines are compared with trailing
 * spaces dropped; "..." alone matches any lines, inside a line any text.
 */
export function matches(expected: string[], actual: string[]): boolean {
  const exp = trimLines(expected);
  const act = trimLines(actual);
  const memo = new Map<string, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    if (memo.has(key)) return memo.get(key)!;
    let ok: boolean;
    if (i === exp.length) ok = j === act.length;
    else if (exp[i] === '...') ok = at(i + 1, j) || (j < act.length &&
      at(i, j + 1));
    else ok = j < act.length && lineMatches(exp[i], act[j]) && at(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return at(0, 0);
}

function lineMatches(pattern: string, line: string): boolean {
  if (!pattern.includes('...')) return pattern === line;
  const parts = pattern.split('...').map(
    (p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(line);
}

function trimLines(lines: string[]): string[] {
  const out = lines.map((l) => l.replace(/\s+$/, ''));
  while (out.length && out.at(-1) === '') out.pop();
  return out;
}

export interface Outcome {
  command: Command;
  actual: string[];
  ok: boolean;
}

const MARK = '\x1eskiff-session';

/** A cgroup tree for the sessions: one cgroup in each host hierarchy. */
interface CgroupSandbox {
  /** Shell lines that mount each cgroup over its hierarchy (in /tmp). */
  mounts: string[];
  /** Removes the cgroups and those in them; throws naming busy ones. */
  remove(): void;
}

/** The host's cgroup mounts, in mountinfo's order: [target, fs fields]. */
function cgroupMounts(): [string, string][] {
  const roots = cgroupRoots();
  return readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n')
    .map((line) => line.split(' - '))
    .map(([fields, fs]): [string, string] => [fields.split(' ')[4], fs])
    .filter(([target, fs]) => roots.includes(target) && /^cgroup/.test(fs));
}

/**
 * Does a demo write to this hierarchy? v1 ones with a controller (not
 * systemd's name=systemd), and cgroup2 where it is the whole tree (a
 * hybrid host's /sys/fs/cgroup/unified is left alone: no demo uses it).
 */
function demoUses([target, fs]: [string, string]): boolean {
  return /^cgroup2 /.test(fs) ? target === '/sys/fs/cgroup'
    : /^cgroup \S+ (?!name=\S+$)/.test(fs);
}

/**
 * Makes a cgroup of the sessions' own in every hierarchy a demo uses,
 * set up as the hierarchy's root is (a v1 cpuset starts without CPUs,
 * a v2 cgroup without controllers for its children), for the shell to
 * mount over the hierarchy: what a demo makes in "/skiff" lands in it,
 * and its trace still says "cpu/skiff/...", as the text does.
 */
function cgroupSandbox(): CgroupSandbox {
  const name = uniqueName('skiff-book');
  const mounts = cgroupMounts();
  const roots = mounts.filter(demoUses).map(([target]) => target);
  const copy = (root: string, file: string, as = (v: string) => v) => {
    if (!existsSync(join(root, file))) return;
    const v = readFileSync(join(root, file), 'utf8').trim();
    if (v) writeFileSync(join(root, name, file), as(v));
  };
  for (const root of roots) {
    mkdirSync(join(root, name));
    copy(root, 'cpuset.cpus');
    copy(root, 'cpuset.mems');
    if (root === '/sys/fs/cgroup') {
      copy(root, 'cgroup.subtree_control',
        (v) => v.split(' ').map((c) => `+${c}`).join(' '));
    }
  }
  const src = (t: string) => roots.includes(t) ? join(t, name) : t;
  return {
    mounts: remount(mounts.map(([target]) => [src(target), target])),
    remove() {
      const left = roots.flatMap((root) => dropTree(join(root, name)));
      if (left.length) {
        throw new Error(`sessions: cgroups still in use: ${left.join(' ')}`);
      }
    },
  };
}

/**
 * Shell lines mounting each [source, target] in place of the mount at
 * target, moved rather than stacked (findmnt shows one mount each).
 * All binds first, in the table's order: findmnt lists mounts in the
 * order of their ids, which the binds take in turn.
 */
function remount(pairs: [string, string][]): string[] {
  return [
    ...pairs.map(([src], i) => `mkdir /tmp/c${i} && ` +
      `mount --bind ${src} /tmp/c${i} || exit 99`),
    ...pairs.map(([, target]) => `umount -l ${target} || exit 99`),
    ...pairs.map(([, target], i) =>
      `mount --move /tmp/c${i} ${target} || exit 99`),
  ];
}

/** Removes a cgroup and those in it, children first; the busy ones. */
function dropTree(dir: string): string[] {
  const left = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => dropTree(join(dir, e.name)));
  try {
    rmdirSync(dir);
  } catch {
    left.push(dir);
  }
  return left;
}

/** How long a page may take: the emulated v2 VM is ten times slower. */
const PAGE_TIMEOUT = process.env.SKIFF_VM ? 1_200_000 : 120_000;

/** Runs one page's commands in order in one sandboxed bash. */
export function runCommands(commands: Command[], repo: string,
  timeoutMs = PAGE_TIMEOUT): Outcome[] {
  const cgroups = cgroupSandbox();
  try {
    return runInSandbox(commands, repo, timeoutMs, cgroups.mounts);
  } finally {
    cgroups.remove();
  }
}

function runInSandbox(commands: Command[], repo: string, timeoutMs: number,
  cgroupMounts: string[]): Outcome[] {
  const repoPath = JSON.stringify(repo);
  const script = [
    // Hold the checkout open: a clone under /tmp (CI may put one there)
    // would vanish under the tmpfs below; it is bound back from the fd.
    // --no-canonicalize: mount(8) would otherwise resolve the fd's link
    // to a path, by then inside the new tmpfs.
    `exec 9< ${repoPath} || exit 99`,
    'mount -t tmpfs skiff-book /tmp || exit 99',
    'mkdir /tmp/u /tmp/w',
    'mount -t overlay skiff-book-etc -o ' +
      'lowerdir=/etc,upperdir=/tmp/u,workdir=/tmp/w /etc || exit 99',
    ...cgroupMounts,
    // A second tmpfs hides the upper layer: /tmp starts empty.
    'mount -t tmpfs skiff-book /tmp || exit 99',
    `if [ ! -d ${repoPath} ]; then mkdir -p ${repoPath} && ` +
      `mount --no-canonicalize --bind /proc/$$/fd/9 ${repoPath} ` +
      '|| exit 99; fi',
    `exec 9<&-; cd ${repoPath} || exit 99`,
    'exec 2>&1',
    // The marker's printf must not eat the status `echo $?` shows.
    ...commands.map((c, i) => `s=$?; printf '${MARK} %d\\n' ${i}; ` +
      `(exit $s)\n${toShell(c.text)}`),
    `printf '${MARK} end\\n'`,
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private',
    'bash', '-c', script], {
    encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  if (r.status === 99 || r.error) {
    throw new Error(`sessions: cannot set up the sandbox: ` +
      `${r.error?.message ?? r.stdout + r.stderr}`);
  }
  const chunks = r.stdout.split(new RegExp(`${MARK} (\\d+|end)\\n`));
  return commands.map((command, i) => {
    const out = chunks[2 * i + 2] ?? '';
    const actual = out.replace(/\n$/, '').split('\n');
    return { command, actual, ok: matches(command.expected, actual) };
  });
}

/** v2 where /sys/fs/cgroup is the unified hierarchy, else v1 or hybrid. */
export function hostCgroup(): CgroupVersion {
  const CGROUP2_SUPER_MAGIC = 0x63677270;
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC
      ? 'v2' : 'v1';
  } catch {
    return 'v1';
  }
}

/** The commands this host can check: unmarked ones and its version's. */
export function forHost(commands: Command[], host = hostCgroup())
  : Command[] {
  return commands.filter((c) => !c.cgroup || c.cgroup === host);
}

/** The runnable commands of a markdown file and how each went. */
export function checkFile(file: string, repo: string): Outcome[] {
  const commands = forHost(sessionsOf(readFileSync(file, 'utf8')));
  return commands.length ? runCommands(commands, repo) : [];
}

/** A failing command as a reader would want it shown. */
export function explain(file: string, o: Outcome): string {
  return `${file}:${o.command.line}: $ ${o.command.text}\n` +
    `--- the text shows:\n${o.command.expected.join('\n')}\n` +
    `--- the command printed:\n${o.actual.join('\n')}`;
}
