// Grader for the engine's chapter 10, lab "dangling": `images --filter`.
import assert from 'node:assert/strict';
import { defineLab, type LabContext } from '../../../../../book/labs.ts';
import type { TestEngine } from '../../../../testing.ts';
import { engineOf } from '../../../lab-engine.ts';

const old = new WeakMap<TestEngine, string>();

/**
 * The lab's engine with busybox, tools:latest (busybox tagged again),
 * site:v1 committed twice; returns the engine and the short id of the
 * first site:v1, dangling since the second took its tag.
 */
function engine(ctx: LabContext): [TestEngine, string] {
  const e = engineOf(ctx);
  if (!old.has(e)) {
    e.ok('run', '--name', 'one', 'busybox', 'sh', '-c', 'echo 1 > /one');
    const first = e.ok('commit', 'one', 'site:v1').trim();
    e.ok('run', '--name', 'two', 'busybox', 'sh', '-c', 'echo 2 > /two');
    e.ok('commit', 'two', 'site:v1');
    e.ok('tag', 'busybox', 'tools:latest');
    old.set(e, first.replace(/^sha256:/, '').slice(0, 12));
  }
  return [e, old.get(e)!];
}

/** `images ARGS` as REPOSITORY:TAG lines, sorted. */
function refs(e: TestEngine, ...args: string[]): string[] {
  const r = e.sk(['images', ...args, '--format',
    '{{.Repository}}:{{.Tag}}']);
  assert.equal(r.status, 0, `images ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

export default defineLab({
  title: 'Tags move, images stay',
  checks: [
    {
      name: '-f dangling=true: the image whose tag moved, and only it',
      check(ctx) {
        const [e, first] = engine(ctx);
        const r = e.sk(['images', '-q', '-f', 'dangling=true']);
        assert.equal(r.status, 0, `images -q -f dangling=true: ${r.stderr}`);
        assert.equal(r.stdout, `${first}\n`, 'images -q -f dangling=true ' +
          `(the first site:v1 is ${first})`);
      },
    },
    {
      name: '-f dangling=false: every tagged image',
      check(ctx) {
        const [e] = engine(ctx);
        assert.deepEqual(refs(e, '--filter', 'dangling=false'),
          ['busybox:latest', 'site:v1', 'tools:latest'],
          'images --filter dangling=false');
      },
    },
    {
      name: '-f reference: a pattern, with or without the tag',
      check(ctx) {
        const [e] = engine(ctx);
        assert.deepEqual(refs(e, '-f', 'reference=site'), ['site:v1'],
          'images -f reference=site');
        assert.deepEqual(refs(e, '-f', 'reference=b*'), ['busybox:latest'],
          'images -f reference=b*');
        assert.deepEqual(refs(e, '-f', 'reference=*:latest'),
          ['busybox:latest', 'tools:latest'], 'images -f reference=*:latest');
        assert.deepEqual(refs(e, '-f', 'reference=site', '-f',
          'reference=tools'), ['site:v1', 'tools:latest'],
        'images -f reference=site -f reference=tools');
      },
    },
    {
      name: 'an unknown key or value: one line naming it',
      check(ctx) {
        const [e] = engine(ctx);
        for (const [bad, named] of [['colour=red', /colour/],
          ['dangling=maybe', /maybe/]] as const) {
          const r = e.sk(['images', '-f', bad]);
          assert.notEqual(r.status, 0, `images -f ${bad} succeeded`);
          assert.equal(r.stdout, '', `images -f ${bad} listed images`);
          assert.match(r.stderr, named, `images -f ${bad}: ${r.stderr}`);
          assert.equal(r.stderr.trim().split('\n').length, 1,
            `images -f ${bad}: one line: ${r.stderr}`);
        }
      },
    },
  ],
});
