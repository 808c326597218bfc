// Grader for chapter 02, lab "domainname": run.ts --domainname NAME.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defineLab, outcome } from '../../../../book/labs.ts';

const RUN = 'chapters/02-namespaces/run.ts';
const hostDomain = () =>
  readFileSync('/proc/sys/kernel/domainname', 'utf8').trim();

export default defineLab({
  title: 'A second name in the UTS namespace',
  checks: [
    {
      name: '--domainname NAME sets the container\'s domain name, ' +
        'hostname unchanged',
      check(ctx) {
        const r = ctx.run(RUN, ['--domainname', 'lab.example', ctx.rootfs(),
          '/bin/sh', '-c', 'cat /proc/sys/kernel/domainname; hostname']);
        assert.equal(r.stdout, 'lab.example\nskiff\n',
          `inside: ${JSON.stringify(r.stdout)} (${outcome(r)})`);
      },
    },
    {
      name: 'the host\'s domain name is untouched',
      check(ctx) {
        const before = hostDomain();
        const r = ctx.run(RUN, ['--domainname', 'lab.example', ctx.rootfs(),
          '/bin/true']);
        assert.equal(r.status, 0, outcome(r));
        assert.equal(hostDomain(), before,
          'the host\'s /proc/sys/kernel/domainname changed');
      },
    },
    {
      name: '--no-uts --domainname is refused: one line, exit 125',
      check(ctx) {
        const before = hostDomain();
        const r = ctx.run(RUN, ['--no-uts', '--domainname', 'lab.example',
          ctx.rootfs(), '/bin/true']);
        assert.equal(hostDomain(), before, 'the host was renamed!');
        assert.equal(r.status, 125, outcome(r));
        assert.match(r.stderr, /^skiff: .*uts/i,
          `the error should name the UTS namespace: ${r.stderr.trim()}`);
        assert.equal(r.stderr.trim().split('\n').length, 1,
          `one line expected: ${r.stderr.trim()}`);
      },
    },
  ],
});
