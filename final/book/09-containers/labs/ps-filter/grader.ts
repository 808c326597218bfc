// Grader for the engine's chapter 9, lab "ps-filter": `ps --filter`.
import assert from 'node:assert/strict';
import { defineLab, type LabContext } from '../../../../../book/labs.ts';
import type { TestEngine } from '../../../../testing.ts';
import { engineOf } from '../../../lab-engine.ts';

const ready = new WeakSet<TestEngine>();

/**
 * The lab's engine with five containers, one in each state: fresh
 * (created), up (running), frozen (paused), three and zero (exited 3
 * and 0).
 */
function engine(ctx: LabContext): TestEngine {
  const e = engineOf(ctx);
  if (ready.has(e)) return e;
  e.ok('create', '--name', 'fresh', 'busybox', 'true');
  e.ok('run', '-d', '--name', 'up', 'busybox', 'sleep', '600');
  e.ok('run', '-d', '--name', 'frozen', 'busybox', 'sleep', '600');
  e.ok('pause', 'frozen');
  assert.equal(e.sk(['run', '--name', 'three', 'busybox', 'sh', '-c',
    'exit 3']).status, 3, 'run ... exit 3');
  e.ok('run', '--name', 'zero', 'busybox', 'true');
  ready.add(e);
  return e;
}

/** The names `ps ARGS` lists, sorted. */
function names(e: TestEngine, ...args: string[]): string[] {
  const r = e.sk(['ps', ...args, '--format', '{{.Names}}']);
  assert.equal(r.status, 0, `ps ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

export default defineLab({
  title: 'Which containers are in which state',
  checks: [
    {
      name: '-f status=exited lists the exited ones, without -a',
      check(ctx) {
        assert.deepEqual(names(engine(ctx), '-f', 'status=exited'),
          ['three', 'zero'], 'ps -f status=exited');
      },
    },
    {
      name: 'each state: created, running, paused',
      check(ctx) {
        const e = engine(ctx);
        assert.deepEqual(names(e, '-f', 'status=created'), ['fresh'],
          'ps -f status=created');
        assert.deepEqual(names(e, '--filter', 'status=running'), ['up'],
          'ps --filter status=running (a paused one is not running)');
        assert.deepEqual(names(e, '-f', 'status=paused'), ['frozen'],
          'ps -f status=paused');
      },
    },
    {
      name: 'name and exited; one key widens, two keys narrow',
      check(ctx) {
        const e = engine(ctx);
        assert.deepEqual(names(e, '-a', '-f', 'name=zer'), ['zero'],
          'ps -a -f name=zer');
        assert.deepEqual(names(e, '-a', '-f', 'exited=3'), ['three'],
          'ps -a -f exited=3');
        assert.deepEqual(names(e, '-f', 'status=running', '-f',
          'status=paused'), ['frozen', 'up'],
        'ps -f status=running -f status=paused');
        assert.deepEqual(names(e, '-f', 'status=exited', '-f', 'name=th'),
          ['three'], 'ps -f status=exited -f name=th');
      },
    },
    {
      name: 'an unknown key or status: one line naming it',
      check(ctx) {
        const e = engine(ctx);
        for (const [bad, named] of [['colour=red', /colour/],
          ['status=sleepy', /sleepy/]] as const) {
          const r = e.sk(['ps', '-f', bad]);
          assert.notEqual(r.status, 0, `ps -f ${bad} succeeded`);
          assert.equal(r.stdout, '', `ps -f ${bad} listed containers`);
          assert.match(r.stderr, named, `ps -f ${bad}: ${r.stderr}`);
          assert.equal(r.stderr.trim().split('\n').length, 1,
            `ps -f ${bad}: one line: ${r.stderr}`);
        }
      },
    },
  ],
});
