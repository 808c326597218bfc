// Grader for the engine's chapter 12, lab "update-flags": runc's
// resource flags for `skiff-runtime update`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, openSync, readFileSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  defineLab, type LabContext, type Ran,
} from '../../../../../book/labs.ts';
import {
  openCgroup,
} from '../../../../../chapters/03-cgroups/cgroups/manager.ts';

const MiB = 1024 ** 2;

interface Box { id: string; root: string; dir: string }
const boxes = new WeakMap<LabContext, Box>();

/** `skiff-runtime --root ROOT ARGS` from the checkout, as tsx runs it. */
function runtime(ctx: LabContext, box: Box, ...args: string[]): Ran {
  return ctx.run('final/runtime.ts', ['--root', box.root, ...args]);
}

/**
 * A running container (busybox `sleep 600`) under a state root of the
 * lab's own, made once per lab and deleted after it. Its output goes
 * to a file: `create` hands its own stdio to the container, and a pipe
 * held by the container would keep the grader waiting.
 */
function container(ctx: LabContext): Box {
  const made = boxes.get(ctx);
  if (made) return made;
  const dir = ctx.tempDir();
  const box = { id: ctx.unique('labrt'), root: join(dir, 'state'), dir };
  const spec = runtime(ctx, box, 'spec', '--bundle', dir);
  assert.equal(spec.status, 0, `skiff-runtime spec: ${spec.stderr}`);
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.root = { path: ctx.rootfs(), readonly: true };
  Object.assign(config.process, { terminal: false,
    args: ['sleep', '600'] });
  writeFileSync(file, JSON.stringify(config));
  const out = openSync(join(dir, 'create.log'), 'w');
  const r = spawnSync(process.execPath, ['--import', 'tsx',
    join(ctx.repo, 'final/runtime.ts'), '--root', box.root, 'run',
    '--detach', '--bundle', dir, box.id], { cwd: ctx.repo,
    stdio: ['ignore', out, out], timeout: 120_000 });
  closeSync(out);
  ctx.cleanup(() => {
    runtime(ctx, box, 'delete', '--force', box.id);
  });
  assert.equal(r.status, 0, 'skiff-runtime run --detach: ' +
    readFileSync(join(dir, 'create.log'), 'utf8').trim());
  boxes.set(ctx, box);
  return box;
}

/** The container's cgroup, as the kernel has it now. */
function limits(box: Box) {
  const state = JSON.parse(readFileSync(
    join(box.root, box.id, 'state.json'), 'utf8')) as { cgroup: string };
  const cg = openCgroup(state.cgroup);
  const st = cg.stats();
  const file = (name: string) => cg.dirs.map((d) => join(d, name))
    .find((f) => existsSync(f));
  const v1 = file('cpu.cfs_quota_us');
  const cpu = v1 ? `${readFileSync(v1, 'utf8').trim()} ${
    readFileSync(file('cpu.cfs_period_us')!, 'utf8').trim()}`
    : readFileSync(file('cpu.max')!, 'utf8').trim();
  return { memory: st.memoryLimit, pids: st.pidsLimit, cpu };
}

function update(ctx: LabContext, box: Box, ...args: string[]): void {
  const r = runtime(ctx, box, 'update', ...args, box.id);
  assert.equal(r.status, 0,
    `update ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
}

export default defineLab({
  title: 'New limits, the way runc takes them',
  checks: [
    {
      name: 'update --memory 64m --pids-limit 20: the cgroup has them',
      check(ctx) {
        const box = container(ctx);
        update(ctx, box, '--memory', '64m', '--pids-limit', '20');
        const l = limits(box);
        assert.equal(l.memory, 64 * MiB, 'memory limit after --memory 64m');
        assert.equal(l.pids, 20, 'pids limit after --pids-limit 20');
      },
    },
    {
      name: 'update --cpu-quota 50000 --cpu-period 100000',
      check(ctx) {
        const box = container(ctx);
        update(ctx, box, '--cpu-quota', '50000', '--cpu-period', '100000');
        assert.equal(limits(box).cpu, '50000 100000',
          'the cgroup\'s CPU quota and period');
      },
    },
    {
      name: 'with --resources, the flags win over the file',
      check(ctx) {
        const box = container(ctx);
        const file = join(box.dir, 'limits.json');
        writeFileSync(file, JSON.stringify({ pids: { limit: 30 },
          memory: { limit: 96 * MiB } }));
        update(ctx, box, '--resources', file, '--pids-limit', '25');
        const l = limits(box);
        assert.equal(l.pids, 25, 'pids limit: --pids-limit 25 over the ' +
          'file\'s 30');
        assert.equal(l.memory, 96 * MiB, 'memory limit: the file\'s 96m');
      },
    },
    {
      name: 'a bad value: one line naming the flag, nothing changed',
      check(ctx) {
        const box = container(ctx);
        update(ctx, box, '--pids-limit', '40', '--memory', '80m');
        for (const args of [['--pids-limit', '50', '--memory', 'lots'],
          ['--memory', '90m', '--pids-limit', 'many']]) {
          const r = runtime(ctx, box, 'update', ...args, box.id);
          assert.notEqual(r.status, 0, `update ${args.join(' ')} succeeded`);
          const flag = args[2];
          assert.match(r.stderr, new RegExp(`${flag}\\b`),
            `update ${args.join(' ')}: the error names ${flag}: ${r.stderr}`);
          assert.equal(r.stderr.trim().split('\n').length, 1,
            `update ${args.join(' ')}: one line: ${r.stderr}`);
          assert.deepEqual([limits(box).pids, limits(box).memory],
            [40, 80 * MiB], `update ${args.join(' ')} changed a limit`);
        }
      },
    },
  ],
});
