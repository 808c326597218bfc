// Filters and answer shapes real clients rely on (issue 16): the
// `filters` of the list and prune routes (daemon/filters.ts), logs
// --since/--until, stats stream=False, tag's 201, HostConfig.LogConfig,
// State.OOMKilled. Driven by docker's CLI and docker-py, as users do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { isRoot } from '../support/testing.ts';
import { parseFilters } from './daemon/filters.ts';
import { timestampNs } from './timestamps.ts';
import { DOCKER, TestEngine, waitFor } from './testing.ts';

const PY_DOCKER = spawnSync('python3', ['-c', 'import docker'])
  .status === 0;
const skip = !isRoot ? 'needs root (sudo npm test)'
  : !DOCKER ? 'no docker CLI on PATH' : false;
let eng: TestEngine;

const ok = (...args: string[]) => eng.dockerOk(...args);

/** `docker ps ARGS --format {{.Names}}`, sorted. */
function names(...args: string[]): string[] {
  return ok('ps', ...args, '--format', '{{.Names}}').split('\n')
    .filter(Boolean).sort();
}

/** docker-py against the engine: the script's stdout. */
function py(...lines: string[]): string {
  const r = spawnSync('python3', ['-c', ['import docker',
    `c = docker.DockerClient(base_url="unix://${eng.sock}")`,
    ...lines].join('\n')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
const pySkip = { skip: PY_DOCKER ? false : 'no python3 docker module' };

before(async () => {
  if (skip) return;
  eng = new TestEngine('skflt');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

describe('the filters query', () => {
  test('both shapes, unknown keys refused, labels all match', () => {
    const keys = ['label', 'name'];
    const lists = parseFilters('{"label":["a=b","c"]}', keys);
    const bools = parseFilters('{"label":{"a=b":true,"c":true}}', keys);
    for (const f of [lists, bools]) {
      assert.ok(f.labels('label', { a: 'b', c: '' }));
      assert.ok(!f.labels('label', { a: 'b' }));
      assert.ok(!f.labels('label', { a: 'x', c: '' }));
    }
    assert.throws(() => parseFilters('{"colour":["red"]}', keys),
      /invalid filter 'colour'/);
    assert.ok(parseFilters('{"name":["zer"]}', keys).match('name', '/zero'));
  });

  test('moments: Unix seconds, RFC 3339, Go durations', () => {
    assert.equal(timestampNs('1733331600.5'), 1733331600_500000000n);
    assert.equal(timestampNs('2024-12-04T17:00:00.000000001Z'),
      1733331600_000000001n);
    assert.equal(timestampNs('1h30m', 10_000_000), 10_000_000_000_000n -
      5400_000_000_000n);
    assert.throws(() => timestampNs('yesterday'), /yesterday/);
  });
});

describe('filters through docker\'s CLI', { skip }, () => {
  before(() => {
    if (skip) return;
    ok('create', '--name', 'fresh', '--label', 'tier=web', 'busybox',
      'true');
    ok('run', '-d', '--name', 'up', '--label', 'tier=db', '-v',
      'flt-data:/data', 'busybox', 'sleep', '600');
    ok('run', '-d', '--name', 'frozen', 'busybox', 'sleep', '600');
    ok('pause', 'frozen');
    assert.equal(eng.docker(['run', '--name', 'three', '--label', 'keep',
      'busybox', 'sh', '-c', 'exit 3']).status, 3);
    ok('run', '--name', 'zero', 'busybox', 'true');
  });

  test('ps: status, name, exited, label, id; AND across keys', () => {
    assert.deepEqual(names('-f', 'status=exited'), ['three', 'zero']);
    assert.deepEqual(names('-f', 'status=created'), ['fresh']);
    assert.deepEqual(names('-f', 'status=paused'), ['frozen']);
    assert.deepEqual(names('-f', 'status=running', '-f', 'status=paused'),
      ['frozen', 'up']);
    assert.deepEqual(names('-a', '-f', 'name=zer'), ['zero']);
    assert.deepEqual(names('-a', '-f', 'name=^/three$'), ['three']);
    assert.deepEqual(names('-a', '-f', 'exited=3'), ['three']);
    assert.deepEqual(names('-a', '-f', 'label=tier'), ['fresh', 'up']);
    assert.deepEqual(names('-a', '-f', 'label=tier=db'), ['up']);
    assert.deepEqual(names('-f', 'status=exited', '-f', 'name=th'),
      ['three']);
    const id = ok('inspect', '-f', '{{.Id}}', 'up').trim();
    assert.deepEqual(names('-f', `id=${id.slice(0, 10)}`), ['up']);
    assert.deepEqual(names('-a', '-f', 'is-task=true'), []);
    assert.deepEqual(names('-n', '1'), ['zero'], 'a limit: any state');
    assert.deepEqual(names('-a', '-f', 'health=none', '-f',
      'status=running'), ['up']);
  });

  test('ps: ancestor, before, since, volume, network', () => {
    assert.equal(names('-a', '-f', 'ancestor=busybox').length, 5);
    assert.deepEqual(names('-a', '-f', 'ancestor=nosuch'), []);
    assert.deepEqual(names('-a', '-f', 'before=up'), ['fresh']);
    assert.deepEqual(names('-a', '-f', 'since=three'), ['zero']);
    assert.deepEqual(names('-a', '-f', 'volume=flt-data'), ['up']);
    assert.deepEqual(names('-a', '-f', 'volume=/data'), ['up']);
    assert.deepEqual(names('-f', 'network=bridge'), ['frozen', 'up']);
    assert.deepEqual(names('-a', '-f', 'network=nosuch'), []);
  });

  test('ps: bad keys and values are the client\'s 400s', () => {
    for (const [bad, named] of [['colour=red', /invalid filter 'colour'/],
      ['status=sleepy', /sleepy/], ['exited=x', /exited/]] as const) {
      const r = eng.docker(['ps', '-f', bad]);
      assert.notEqual(r.status, 0, bad);
      assert.match(r.stderr, named);
      assert.equal(r.stdout, '');
    }
  });

  test('ps: publish and expose', () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    ok('run', '-d', '--name', 'pub', '-p', `127.0.0.1:${port}:80`,
      '--expose', '9000', 'busybox', 'sleep', '600');
    assert.deepEqual(names('-f', `publish=${port}`), ['pub']);
    assert.deepEqual(names('-f', `publish=${port}/udp`), []);
    assert.deepEqual(names('-f', 'expose=80'), ['pub']);
    assert.deepEqual(names('-f', 'expose=8990-9010/tcp'), ['pub']);
    assert.deepEqual(names('-f', 'publish=80'), []);
    ok('rm', '-f', 'pub');
  });

  test('images: reference globs, dangling, label, before/since', () => {
    ok('tag', 'busybox', 'flt/tools:v1');
    ok('tag', 'busybox', 'flt/tools:v2');
    const refs = (...args: string[]) => ok('images', ...args, '--format',
      '{{.Repository}}:{{.Tag}}').split('\n').filter(Boolean).sort();
    assert.deepEqual(refs('-f', 'reference=busy*'), ['busybox:latest']);
    assert.deepEqual(refs('-f', 'reference=flt/tools:v1'),
      ['flt/tools:v1']);
    assert.deepEqual(refs('-f', 'reference=flt/*'),
      ['flt/tools:v1', 'flt/tools:v2']);
    assert.deepEqual(refs('-f', 'reference=*'), ['busybox:latest']);
    assert.deepEqual(refs('-f', 'dangling=true'), []);
    assert.ok(refs('-f', 'dangling=false').includes('busybox:latest'));
    // a commit moved over a tag leaves the first image dangling
    ok('commit', '--change', 'LABEL flt=one', 'zero', 'flt/site:v1');
    ok('commit', '--change', 'LABEL flt=two', 'three', 'flt/site:v1');
    assert.equal(ok('images', '-q', '-f', 'dangling=true').split('\n')
      .filter(Boolean).length, 1);
    assert.deepEqual(refs('-f', 'label=flt=two'), ['flt/site:v1']);
    assert.deepEqual(refs('-f', 'label=flt', '-f', 'dangling=false'),
      ['flt/site:v1']);
    assert.deepEqual(refs('-f', 'since=busybox', '-f', 'dangling=false'),
      ['flt/site:v1']);
    const r = eng.docker(['images', '-f', 'dangling=maybe']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /maybe/);
  });

  test('image prune: label and until select, the others stay', () => {
    ok('commit', '--change', 'LABEL prune=me', 'zero', 'flt/p:1');
    ok('commit', '--change', 'LABEL prune=no', 'zero', 'flt/p:2');
    // dangling=false: every unused image, narrowed by the label
    ok('image', 'prune', '-f', '-a', '--filter', 'label=prune=me');
    const tags = ok('images', '--format', '{{.Repository}}:{{.Tag}}');
    assert.doesNotMatch(tags, /flt\/p:1/);
    assert.match(tags, /flt\/p:2/);
    assert.match(tags, /busybox:latest/);
    ok('image', 'prune', '-f', '-a', '--filter', 'until=1h');
    assert.match(ok('images'), /flt\/p/, 'until=1h kept the new ones');
    ok('image', 'prune', '-f', '-a', '--filter', 'label!=prune=no',
      '--filter', 'label=prune');
    assert.match(ok('images'), /flt\/p/, 'label!= kept prune=no');
  });

  test('container prune: label and label! keep the others', () => {
    ok('container', 'prune', '-f', '--filter', 'label=keep');
    assert.deepEqual(names('-a', '-f', 'status=exited'), ['zero']);
    ok('container', 'prune', '-f', '--filter', 'label!=tier',
      '--filter', 'until=1h');
    assert.deepEqual(names('-a', '-f', 'status=exited'), ['zero']);
    ok('container', 'prune', '-f', '--filter', 'label!=tier');
    assert.deepEqual(names('-a', '-f', 'status=exited'), []);
    assert.deepEqual(names('-a', '-f', 'status=created'), ['fresh']);
  });

  test('volumes: ls filters; prune by label, anonymous by default', () => {
    ok('volume', 'create', '--label', 'v=a', 'flt-a');
    ok('volume', 'create', '--label', 'v=b', 'flt-b');
    // skiff's CLI sends -v /scratch as a bind (docker's: Config.Volumes)
    eng.ok('create', '--name', 'anon', '-v', '/scratch', 'busybox', 'true');
    const anon = ok('inspect', '-f',
      '{{range .Mounts}}{{.Name}}{{end}}', 'anon').trim();
    ok('rm', 'anon');
    const vols = (...args: string[]) => ok('volume', 'ls', '-q', ...args)
      .split('\n').filter(Boolean).sort();
    assert.deepEqual(vols('-f', 'label=v'), ['flt-a', 'flt-b']);
    assert.deepEqual(vols('-f', 'label=v=b'), ['flt-b']);
    assert.deepEqual(vols('-f', 'name=flt-'), ['flt-a', 'flt-b',
      'flt-data']);
    assert.deepEqual(vols('-f', 'dangling=false'), ['flt-data']);
    assert.ok(vols('-f', 'dangling=true').includes(anon));
    assert.deepEqual(vols('-f', 'driver=nosuch'), []);
    // API 1.43: without --all only anonymous volumes go
    ok('volume', 'prune', '-f');
    assert.deepEqual(vols(), ['flt-a', 'flt-b', 'flt-data']);
    ok('volume', 'prune', '-f', '--all', '--filter', 'label=v=a');
    assert.deepEqual(vols(), ['flt-b', 'flt-data']);
    // a client of API 1.41 (dockerd 20.10's) prunes named ones too
    const r = spawnSync('curl', ['-sf', '--unix-socket', eng.sock, '-X',
      'POST', 'http://skiff/v1.41/volumes/prune?filters=' +
      encodeURIComponent('{"label":{"v=b":true}}')], { encoding: 'utf8' });
    assert.equal(JSON.parse(r.stdout).VolumesDeleted.join(), 'flt-b');
    assert.deepEqual(vols(), ['flt-data']);
  });

  test('networks: name, id, type, dangling; prune keeps what it must',
    () => {
      ok('network', 'create', 'flt-net');
      const id = ok('network', 'inspect', '-f', '{{.Id}}', 'flt-net').trim();
      const nets = (...args: string[]) => ok('network', 'ls', ...args,
        '--format', '{{.Name}}').split('\n').filter(Boolean).sort();
      assert.deepEqual(nets('-f', 'name=flt-'), ['flt-net']);
      assert.deepEqual(nets('-f', `id=${id.slice(0, 12)}`), ['flt-net']);
      assert.deepEqual(nets('-f', 'type=custom'), ['flt-net']);
      assert.ok(nets('-f', 'type=builtin').includes('bridge'));
      assert.deepEqual(nets('-f', 'dangling=true'), ['flt-net']);
      assert.deepEqual(nets('-f', 'driver=bridge', '-f', 'name=flt'),
        ['flt-net']);
      ok('network', 'prune', '-f', '--filter', 'label=nosuch');
      assert.deepEqual(nets('-f', 'name=flt-'), ['flt-net']);
      ok('network', 'prune', '-f', '--filter', 'until=1h');
      assert.deepEqual(nets('-f', 'name=flt-'), ['flt-net']);
      ok('network', 'prune', '-f');
      assert.deepEqual(nets('-f', 'name=flt-'), []);
    });
});

describe('answers real clients read', { skip }, () => {
  test('logs --since and --until: only what came in between', async () => {
    ok('run', '-d', '--name', 'talker', 'busybox', 'sh', '-c',
      'echo early; echo early-err >&2; until [ -e /go ]; do sleep 0.1; ' +
      'done; echo late; echo late-err >&2; sleep 600');
    await waitFor('early', () => ok('logs', 'talker') === 'early\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    ok('exec', 'talker', 'touch', '/go');
    await waitFor('late', () => ok('logs', 'talker') === 'early\nlate\n');
    const since = eng.docker(['logs', '--since', between, 'talker']);
    assert.deepEqual([since.stdout, since.stderr], ['late\n', 'late-err\n']);
    const until = eng.docker(['logs', '--until', between, 'talker']);
    assert.deepEqual([until.stdout, until.stderr],
      ['early\n', 'early-err\n']);
    assert.equal(ok('logs', '--since', '10m', 'talker'), 'early\nlate\n');
    assert.equal(ok('logs', '--since', String(Math.floor(Date.now() /
      1000) + 3600), 'talker'), '');
    // a follow with an until in the past ends at once
    assert.equal(ok('logs', '-f', '--until', between, 'talker'),
      'early\n');
  });

  test('LogConfig: json-file shown; other drivers refused', () => {
    ok('create', '--name', 'logged', '--log-opt', 'max-size=1m',
      'busybox', 'true');
    assert.equal(ok('inspect', '-f', '{{json .HostConfig.LogConfig}}',
      'logged').trim(), '{"Type":"json-file","Config":{"max-size":"1m"}}');
    const r = eng.docker(['run', '--log-driver', 'nosuch', 'busybox']);
    assert.equal(r.status, 125);
    assert.match(r.stderr, /plugin "nosuch" not found/);
    const opt = eng.docker(['run', '--log-opt', 'colour=red',
      'busybox']);
    assert.equal(opt.status, 125);
    assert.match(opt.stderr, /unknown log opt 'colour'/);
  });

  test('OOMKilled after the kernel\'s OOM killer, and an oom event', () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    // The shell keeps 200 MiB of output in memory (chapter 03's hog).
    const r = eng.docker(['run', '--name', 'hog', '--memory', '8m',
      'busybox', 'sh', '-c', 'x=$(head -c 200m /dev/zero | tr "\\0" a); ' +
        'echo survived']);
    assert.equal(r.status, 137, r.stdout + r.stderr);
    assert.equal(ok('inspect', '-f', '{{.State.OOMKilled}}', 'hog').trim(),
      'true');
    const events = eng.docker(['events', '--since', String(since),
      '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter',
      'event=oom', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    if (events.status === 0) assert.match(events.stdout, /^oom hog$/m);
    ok('run', '--name', 'calm', '--memory', '8m', 'busybox', 'true');
    assert.equal(ok('inspect', '-f', '{{.State.OOMKilled}}', 'calm').trim(),
      'false');
  });

  test('docker-py: tag() is True, stats(stream=False) one object, ' +
    'containers.run(detach=True), networks.list(names=)', pySkip, () => {
    const out = py(
      'print(c.images.get("busybox").tag("flt/py", "t"))',
      'k = c.containers.run("busybox", "sleep 600", detach=True, ' +
        'name="pyrun", labels={"py": "yes"})',
      'print(k.attrs["HostConfig"]["LogConfig"]["Type"])',
      's = c.api.stats("pyrun", stream=False)',
      'print(type(s).__name__, s["name"])',
      'print([x.name for x in c.containers.list(filters=' +
        '{"label": "py=yes"})])',
      'print([n.name for n in c.networks.list(names=["bridge"])])',
      'print(len(c.containers.prune(filters={"label": "nosuch"})' +
        '["ContainersDeleted"] or []))',
      'k.remove(force=True)');
    assert.equal(out, 'True\njson-file\ndict /pyrun\n[\'pyrun\']\n' +
      '[\'bridge\']\n0\n');
  });
});
