// The builder's loop against a backend that records what it is asked:
// which steps change the config alone, which need a container, what
// the cache reuses, and what each step's container would run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerConfig } from
  '../../chapters/04-aufs-overlay/store.ts';
import {
  applyChange, build, type BuildBackend, type FileStep,
} from './builder.ts';

function fakeBackend() {
  const images = new Map<string, ContainerConfig>([
    ['busybox', { Env: ['PATH=/bin'], Cmd: ['sh'] }]]);
  const cache = new Map<string, string>();
  const steps: FileStep[] = [];
  let out = '';
  let n = 0;
  const add = (config: ContainerConfig) => {
    const id = `sha256:${String(++n).padStart(64, '0')}`;
    images.set(id, structuredClone(config));
    return id;
  };
  const backend: BuildBackend = {
    async image(ref) {
      const config = images.get(ref);
      if (!config) throw new Error(`no such image: ${ref}`);
      return { id: ref, config };
    },
    async configure(_parent, config) { return add(config); },
    async change(step) { steps.push(structuredClone(step));
      return add(step.config); },
    async sourcesHash(step) { return step.copy!.sources.join(','); },
    cacheGet: (k) => cache.get(k),
    cacheSet: (k, v) => { cache.set(k, v); },
    say: (t) => { out += t; },
  };
  return { backend, images, steps, output: () => out,
    reset: () => { out = ''; steps.length = 0; } };
}

const DOCKERFILE = [
  'ARG TAG=latest',
  'FROM busybox AS base',
  'ARG WHO=world',
  'ENV GREETING="hello $WHO" PATH=/usr/bin:$PATH',
  'WORKDIR /app',
  'WORKDIR sub',
  'RUN echo $GREETING > /greeting',
  'COPY a.txt b.txt ./',
  'EXPOSE 80 53/udp',
  'LABEL version=${TAG:-none} who=$WHO',
  'USER nobody',
  'ENTRYPOINT ["/bin/app"]',
  'CMD app --help',
  'HEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost',
].join('\n');

test('config steps, file steps, variables and the result', async () => {
  const f = fakeBackend();
  const id = await build(DOCKERFILE, { dockerfile: 'Dockerfile',
    buildArgs: { WHO: 'you' } }, f.backend);
  const c = f.images.get(id)! as ContainerConfig & { Healthcheck: object };
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin', 'GREETING=hello you']);
  assert.equal(c.WorkingDir, '/app/sub');
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  // TAG was declared before FROM: outside the stage it is unset.
  assert.deepEqual(c.Labels, { version: 'none', who: 'you' });
  assert.equal(c.User, 'nobody');
  assert.deepEqual(c.Entrypoint, ['/bin/app']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'app --help']);
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost'],
    Interval: 30e9, Timeout: undefined, StartPeriod: undefined,
    Retries: 3 });
  const [run, copy] = f.steps;
  assert.deepEqual(run.run, { argv: ['/bin/sh', '-c',
    'echo $GREETING > /greeting'], env: ['WHO=you', 'PATH=/usr/bin:/bin',
    'GREETING=hello you'], user: '', workdir: '/app/sub' });
  assert.deepEqual(copy.copy?.sources, ['a.txt', 'b.txt']);
  assert.match(f.output(), /^Step 1\/13 : FROM busybox AS base\n/);
  assert.match(f.output(), /Step 6\/13 : RUN echo \$GREETING > \/greeting/);
});

test('a second build reuses every step; --no-cache none', async () => {
  const f = fakeBackend();
  const opts = { dockerfile: 'Dockerfile', buildArgs: {} };
  const first = await build(DOCKERFILE, opts, f.backend);
  f.reset();
  assert.equal(await build(DOCKERFILE, opts, f.backend), first);
  assert.equal(f.steps.length, 0);
  assert.equal(f.output().match(/Using cache/g)?.length, 12);
  f.reset();
  const changed = DOCKERFILE.replace('a.txt b.txt', 'a.txt c.txt');
  await build(changed, opts, f.backend);
  assert.deepEqual(f.steps.map((s) => s.copy?.sources), [['a.txt',
    'c.txt']]); // RUN before it cached, COPY and after rebuilt
  f.reset();
  await build(DOCKERFILE, { ...opts, noCache: true }, f.backend);
  assert.equal(f.steps.length, 2);
});

test('stages: --target, COPY --from a stage, FROM a stage', async () => {
  const f = fakeBackend();
  const id = await build(['FROM busybox AS one', 'ENV A=1',
    'FROM one AS two', 'ENV B=2', 'FROM scratch', 'COPY --from=two /x /'
  ].join('\n'), { dockerfile: 'Dockerfile', buildArgs: {} }, f.backend);
  assert.equal(f.steps[0].copy?.from, f.images.has(f.steps[0].copy!.from!)
    ? f.steps[0].copy?.from : 'missing');
  assert.deepEqual(f.images.get(f.steps[0].copy!.from!)?.Env,
    ['PATH=/bin', 'A=1', 'B=2']);
  assert.equal(f.steps[0].parent, '');
  assert.ok(f.images.has(id));
  const f2 = fakeBackend();
  const two = await build('FROM busybox AS a\nENV X=1\nFROM a\nENV Y=2',
    { dockerfile: 'Dockerfile', buildArgs: {}, target: 'a' }, f2.backend);
  assert.deepEqual(f2.images.get(two)?.Env, ['PATH=/bin', 'X=1']);
});

test('commit/import --change: a Dockerfile line on a config', () => {
  const base = { Env: ['PATH=/bin'] };
  let c = applyChange(base, 'ENV GREETING hello world');
  c = applyChange(c, 'LABEL "a b"="c d" e=\'$PATH\'');
  c = applyChange(c, 'CMD ["cat", "/greeting"]');
  c = applyChange(c, 'expose 80/udp 8080');
  c = applyChange(c, 'WORKDIR $PATH/w');
  assert.deepEqual(c, { Env: ['PATH=/bin', 'GREETING=hello world'],
    Labels: { 'a b': 'c d', e: '$PATH' }, Cmd: ['cat', '/greeting'],
    ExposedPorts: { '80/udp': {}, '8080/tcp': {} }, WorkingDir: '/bin/w' });
  assert.deepEqual(base, { Env: ['PATH=/bin'] }); // a copy changed
  assert.throws(() => applyChange(base, 'RUN true'),
    /RUN is not a valid change command/);
  assert.throws(() => applyChange(base, 'EXPOSE http'),
    /invalid containerPort: http/);
  assert.throws(() => applyChange(base, 'NOPE x'), /unknown instruction/);
});

test('ONBUILD: triggers run after the FROM that uses the image', async () => {
  const f = fakeBackend();
  const parent = await build('FROM busybox\nONBUILD ENV FROM_PARENT=1\n' +
    'ONBUILD RUN echo triggered', { dockerfile: 'Dockerfile',
    buildArgs: {} }, f.backend);
  assert.equal(f.steps.length, 0, 'the parent runs none of them');
  f.images.set('parent', f.images.get(parent)!);
  const child = await build('FROM parent\nENV MINE=1', {
    dockerfile: 'Dockerfile', buildArgs: {} }, f.backend);
  assert.match(f.output(), /# Executing 2 build triggers\n/);
  assert.deepEqual(f.steps.map((s) => s.run?.argv.at(-1)),
    ['echo triggered']);
  const c = f.images.get(child) as { Env: string[]; OnBuild?: string[] };
  assert.deepEqual([c.Env, c.OnBuild],
    [['PATH=/bin', 'FROM_PARENT=1', 'MINE=1'], undefined]);
});

test('an aborted build stops before its next step', async () => {
  const f = fakeBackend();
  const cancel = new AbortController();
  cancel.abort();
  await assert.rejects(build(DOCKERFILE, { dockerfile: 'Dockerfile',
    buildArgs: {}, signal: cancel.signal }, f.backend), /build canceled/);
  assert.equal(f.steps.length, 0);
});
