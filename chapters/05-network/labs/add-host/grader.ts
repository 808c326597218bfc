// Grader for chapter 05, lab "add-host": --add-host NAME:IP.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineLab, outcome, type LabContext } from '../../../../book/labs.ts';

const RUN = 'chapters/05-network/run.ts';

const stateDirs = new WeakMap<LabContext, string>();
/** The demo's network state goes to a scratch dir, not /var/lib/skiff. */
function stateDir(ctx: LabContext): string {
  if (!stateDirs.has(ctx)) stateDirs.set(ctx, ctx.tempDir());
  return stateDirs.get(ctx)!;
}

function run(ctx: LabContext, flags: string[], cmd: string[]) {
  return ctx.run(RUN, ['--network', 'none', ...flags, ...ctx.image(),
    ...cmd],
    { SKIFF_NET_DIR: stateDir(ctx) });
}

/** The container's /etc/hosts, one entry per line, blanks as one tab. */
function hosts(ctx: LabContext, flags: string[]): string[] {
  const r = run(ctx, flags, ['/bin/cat', '/etc/hosts']);
  assert.equal(r.status, 0, `${flags.join(' ')}: ${outcome(r)}`);
  return r.stdout.split('\n').filter((l) => l.trim())
    .map((l) => l.trim().replace(/\s+/g, '\t'));
}

function refused(ctx: LabContext, value: string): void {
  const r = run(ctx, ['--add-host', value], ['/bin/echo', 'ran']);
  assert.equal(r.status, 125, `--add-host ${value}: ${outcome(r)}`);
  assert.ok(!r.stdout.includes('ran'), `--add-host ${value}: command ran`);
  assert.equal(r.stderr.trim().split('\n').length, 1,
    `--add-host ${value}: one line expected: ${r.stderr.trim()}`);
}

export default defineLab({
  title: 'Names without a nameserver',
  checks: [
    {
      name: '--add-host db:192.0.2.10 adds "192.0.2.10<tab>db"',
      check(ctx) {
        const lines = hosts(ctx, ['--add-host', 'db:192.0.2.10']);
        assert.ok(lines.includes('192.0.2.10\tdb'),
          `/etc/hosts: ${lines.join(' | ')}`);
      },
    },
    {
      name: 'repeated, with an IPv6 address',
      check(ctx) {
        const lines = hosts(ctx, ['--add-host', 'a:192.0.2.1',
          '--add-host', 'v6:2001:db8::1']);
        for (const want of ['192.0.2.1\ta', '2001:db8::1\tv6']) {
          assert.ok(lines.includes(want), `no "${want.replace('\t', ' ')}"` +
            ` in /etc/hosts: ${lines.join(' | ')}`);
        }
      },
    },
    {
      name: 'the standard entries and the container\'s hostname stay',
      check(ctx) {
        const lines = hosts(ctx, ['--hostname', 'labhost', '--add-host',
          'db:192.0.2.10']);
        assert.ok(lines.includes('127.0.0.1\tlocalhost'),
          `localhost went missing: ${lines.join(' | ')}`);
        assert.ok(lines.some((l) => l.split('\t').includes('labhost')),
          `the hostname's line went missing: ${lines.join(' | ')}`);
      },
    },
    {
      name: 'the host\'s /etc/hosts does not change',
      check(ctx) {
        const before = readFileSync('/etc/hosts', 'utf8');
        hosts(ctx, ['--add-host', 'db:192.0.2.10']);
        assert.equal(readFileSync('/etc/hosts', 'utf8'), before);
      },
    },
    {
      name: 'no NAME:IP (db, db:300.1.1.1, :192.0.2.1): one line, exit 125',
      check(ctx) {
        for (const bad of ['db', 'db:300.1.1.1', ':192.0.2.1']) {
          refused(ctx, bad);
        }
        const left = join(stateDir(ctx), 'containers');
        assert.deepEqual(existsSync(left) ? readdirSync(left) : [], [],
          'files of a container were left in the state dir');
      },
    },
  ],
});
