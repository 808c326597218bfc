// Grader for chapter 05, lab "dns": --dns, --dns-search, --dns-option.
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

/** `cat /etc/resolv.conf` in a container without a network card. */
function resolvConf(ctx: LabContext, flags: string[]): string[] {
  const r = ctx.run(RUN, ['--network', 'none', ...flags, ...ctx.image(),
    '/bin/cat', '/etc/resolv.conf'], { SKIFF_NET_DIR: stateDir(ctx) });
  assert.equal(r.status, 0, `${flags.join(' ')}: ${outcome(r)}`);
  return r.stdout.split('\n').filter((l) => l.trim());
}

const of = (lines: string[], key: string) =>
  lines.filter((l) => l.startsWith(`${key} `));

export default defineLab({
  title: 'Choose the container\'s resolvers',
  checks: [
    {
      name: '--dns IP replaces the nameservers',
      check(ctx) {
        const lines = resolvConf(ctx, ['--dns', '192.0.2.53']);
        assert.deepEqual(of(lines, 'nameserver'),
          ['nameserver 192.0.2.53'], `resolv.conf: ${lines.join(' | ')}`);
      },
    },
    {
      name: 'repeated --dns, IPv4 and IPv6, in order',
      check(ctx) {
        const lines = resolvConf(ctx, ['--dns', '192.0.2.53', '--dns',
          '2001:db8::53']);
        assert.deepEqual(of(lines, 'nameserver'), ['nameserver 192.0.2.53',
          'nameserver 2001:db8::53'], `resolv.conf: ${lines.join(' | ')}`);
      },
    },
    {
      name: '--dns-search replaces the search line, keeps the nameservers',
      check(ctx) {
        const before = resolvConf(ctx, []);
        const lines = resolvConf(ctx, ['--dns-search', 'lab.example',
          '--dns-search', 'corp.example']);
        assert.deepEqual(of(lines, 'search'),
          ['search lab.example corp.example'],
          `resolv.conf: ${lines.join(' | ')}`);
        assert.deepEqual(of(lines, 'nameserver'), of(before, 'nameserver'),
          '--dns-search changed the nameservers');
      },
    },
    {
      name: '--dns-option adds the resolver options',
      check(ctx) {
        const lines = resolvConf(ctx, ['--dns-option', 'ndots:2',
          '--dns-option', 'timeout:1']);
        assert.deepEqual(of(lines, 'options'), ['options ndots:2 timeout:1'],
          `resolv.conf: ${lines.join(' | ')}`);
      },
    },
    {
      name: 'the host\'s resolv.conf and the rootfs\'s stay as they were',
      check(ctx) {
        const host = readFileSync('/etc/resolv.conf', 'utf8');
        const image = join(ctx.rootfs(), 'etc/resolv.conf');
        resolvConf(ctx, ['--dns', '192.0.2.53']);
        assert.equal(readFileSync('/etc/resolv.conf', 'utf8'), host,
          'the host\'s /etc/resolv.conf changed');
        const inImage = existsSync(image) ? readFileSync(image, 'utf8') : '';
        assert.doesNotMatch(inImage, /192\.0\.2\.53/,
          'the rootfs\'s etc/resolv.conf was written');
      },
    },
    {
      name: '--dns with something not an IP: one line, exit 125, ' +
        'nothing made',
      check(ctx) {
        const r = ctx.run(RUN, ['--network', 'none', '--dns', '1.2.3',
          ...ctx.image(), '/bin/echo', 'ran'],
        { SKIFF_NET_DIR: stateDir(ctx) });
        assert.equal(r.status, 125, `--dns 1.2.3: ${outcome(r)}`);
        assert.ok(!r.stdout.includes('ran'), 'the command ran');
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `one line expected: ${r.stderr.trim()}`);
        const left = join(stateDir(ctx), 'containers');
        assert.deepEqual(existsSync(left) ? readdirSync(left) : [], [],
          'files of a container were left in the state dir');
      },
    },
  ],
});
