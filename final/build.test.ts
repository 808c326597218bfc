// Building images from Dockerfiles through the CLI and through docker's
// own (classic builder): every instruction, the cache, stages, the
// context's rules and the failures a user must be able to act on. One
// engine serves the file; everything it made is checked gone at the end.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostMounts, needsRoot, REPO } from '../support/testing.ts';
import { DOCKER, TestEngine, TIMEOUT, waitFor } from './testing.ts';

const PY_DOCKER = spawnSync('python3', ['-c', 'import docker'])
  .status === 0;
let eng: TestEngine;
const ok = (...args: string[]) => eng.ok(...args);
const inspect = (ref: string) => JSON.parse(ok('image', 'inspect', ref))[0];

/** A context directory with these files (name -> content). */
function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(eng.dir, 'ctx-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

before(() => {
  if (process.getuid?.() !== 0) return;
  eng = new TestEngine('skbld');
  ok('version');
});

after(() => {
  if (!eng) return;
  assert.deepEqual(eng.stop(), [], 'mounts left behind');
});

const EVERYTHING = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM $BASE AS base
ARG WHO=world
ENV GREETING="hello $WHO" \\
    HOME_DIR=/home/app
LABEL org.example.who=$WHO
WORKDIR /app
COPY --chown=1000:1000 --chmod=600 secret.txt ./
COPY src/ ./src/
ADD files.tar /unpacked/
RUN echo "$GREETING" > /greeting && chown 1000 /greeting
EXPOSE 8080 53/udp
VOLUME /data
USER 1000
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD cat /greeting
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /greeting; ls /app/src; ls /unpacked"]
`;

describe('skiff build', needsRoot, () => {
  test('every instruction: the image runs and says what it was built with',
    () => {
      const dir = context({ Dockerfile: EVERYTHING, 'secret.txt': 's\n',
        'src/main.c': 'int main;\n', 'src/lib/util.c': '\n' });
      writeFileSync(join(dir, 'x'), 'in the tar\n');
      spawnSync('tar', ['-C', dir, '-cf', join(dir, 'files.tar'), 'x']);
      const out = ok('build', '-t', 'every:1', '--build-arg', 'WHO=you',
        '--label', 'extra=yes', dir);
      assert.match(out, /^Step 1\/19 : FROM \$BASE AS base\n/);
      assert.match(out, /Successfully tagged every:1\n$/);
      assert.equal(ok('run', '--rm', 'every:1'),
        'hello you\nlib\nmain.c\nx\n');
      const c = inspect('every:1').Config;
      assert.ok(c.Env.includes('GREETING=hello you'));
      assert.deepEqual([c.WorkingDir, c.User, c.StopSignal],
        ['/app', '1000', 'SIGINT']);
      assert.deepEqual(c.Labels, { 'org.example.who': 'you', extra: 'yes' });
      assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
      assert.deepEqual(c.Volumes, { '/data': {} });
      assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
      assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL',
        'cat /greeting'], Interval: 5e9, Retries: 2 });
      assert.equal(ok('run', '--rm', '--entrypoint', 'stat', 'every:1',
        '-c', '%u %g %a', '/app/secret.txt'), '1000 1000 600\n');
      // One layer per RUN, COPY and ADD on top of busybox's.
      assert.equal(inspect('every:1').RootFS.Layers.length, 5);
    });

  test('a rebuild uses the cache; a changed file rebuilds from its COPY',
    () => {
      const dir = context({ Dockerfile: 'FROM busybox\nRUN echo one\n' +
        'COPY f /f\nRUN cat /f\n', f: 'v1\n' });
      const first = ok('build', '-q', dir).trim();
      assert.match(first, /^sha256:[0-9a-f]{64}$/);
      const again = ok('build', dir);
      assert.equal(again.match(/Using cache/g)?.length, 3);
      writeFileSync(join(dir, 'f'), 'v2\n');
      const changed = ok('build', '-t', 'cached', dir);
      assert.equal(changed.match(/Using cache/g)?.length, 1);
      assert.match(changed, /RUN cat \/f\n ---> Running in \w+\nv2\n/);
      assert.equal(ok('build', '--no-cache', dir).match(/Using cache/g),
        null);
    });

  test('stages: COPY --from, --target; only the last stage is kept', () => {
    const dir = context({ Dockerfile: 'FROM busybox AS make\n' +
      'RUN echo built > /out && echo junk > /junk\n' +
      'FROM busybox AS test\nRUN false\n' +
      'FROM scratch\nCOPY --from=make /out /out\n' +
      'COPY --from=busybox /bin/busybox /bin/cat\nCMD ["/bin/cat", "/out"]' });
    assert.equal(eng.sk(['build', '-t', 'staged', dir]).status, 1);
    const lines = ok('build', '--target', 'make', '-t', 'made', dir);
    assert.doesNotMatch(lines, /RUN false/);
    assert.equal(ok('run', '--rm', 'made', 'cat', '/junk'), 'junk\n');
    const skip = dir.replace(/$/, '');
    writeFileSync(join(skip, 'Dockerfile'), readFileSync(join(skip,
      'Dockerfile'), 'utf8').replace('RUN false', 'RUN true'));
    ok('build', '-t', 'staged', dir);
    assert.equal(ok('run', '--rm', 'staged'), 'built\n');
    assert.equal(inspect('staged').RootFS.Layers.length, 2);
  });

  test('.dockerignore; -f outside the context; a tar on stdin', () => {
    const dir = context({ '.dockerignore': '*.log\n!keep.log\n',
      'a.log': 'no\n', 'keep.log': 'yes\n',
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx' });
    assert.match(ok('build', dir), /\nDockerfile\nkeep\.log\n/);
    const other = join(eng.dir, 'Other.dockerfile');
    writeFileSync(other, 'FROM busybox\nCOPY a.log /\n');
    const r = eng.sk(['build', '-f', other, dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp('COPY failed: file not found in ' +
      'build context or excluded by \\.dockerignore: stat a\\.log'));
    const tar = spawnSync('tar', ['-C', dir, '-cf', '-', '.']).stdout;
    assert.match(eng.sk(['build', '-'], tar).stdout, /Successfully built/);
  });

  test('a failing RUN: docker\'s message and exit code, nothing running',
    () => {
      const dir = context({ Dockerfile: 'FROM busybox\nRUN exit 3\n' });
      const before = ok('ps', '-aq');
      const mounts = hostMounts().filter((m) => m.startsWith(eng.dir));
      const r = eng.sk(['build', '--force-rm', dir]);
      assert.equal(r.status, 3);
      assert.equal(r.stderr, 'skiff: The command \'/bin/sh -c exit 3\' ' +
        'returned a non-zero code: 3\n');
      assert.equal(ok('ps', '-aq'), before, '--force-rm removes it');
      assert.deepEqual(hostMounts().filter((m) => m.startsWith(eng.dir)),
        mounts);
    });

  test('^C during a RUN: the step is killed, nothing is tagged', async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nRUN sleep 6173\n' });
    const before = ok('ps', '-aq');
    const child = spawn(process.execPath, ['--import',
      import.meta.resolve('tsx/esm'), join(REPO, 'final/cli.ts'), 'build',
      '-t', 'never', dir], { env: eng.env });
    let seen = '';
    child.stdout.on('data', (d) => { seen += d; });
    await waitFor('the RUN', () => /Running in/.test(seen), TIMEOUT);
    child.kill('SIGINT');
    await waitFor('the step gone', () => !/sleep 6173/.test(spawnSync('ps',
      ['-eo', 'args'], { encoding: 'utf8' }).stdout), TIMEOUT);
    await waitFor('its container removed', () => ok('ps', '-aq') ===
      before, TIMEOUT);
    assert.equal(eng.sk(['image', 'inspect', 'never']).status, 1);
  });

  test('bad Dockerfiles and contexts: one line naming file and cause', () => {
    const bad = (files: Record<string, string>, pattern: RegExp) => {
      const r = eng.sk(['build', context(files)]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    };
    bad({ Dockerfile: 'FROM busybox\nFROOM x\n' }, new RegExp('^skiff: ' +
      'dockerfile parse error on line 2 of Dockerfile: unknown ' +
      'instruction: FROOM$', 'm'));
    bad({ Dockerfile: 'FROM busybox\nCOPY ../etc/passwd /\n' },
      /forbidden path outside the build context: \.\.\/etc\/passwd/);
    bad({ 'x/Dockerfile': '' }, new RegExp('^skiff: unable to prepare ' +
      'context: .*Dockerfile: no such file or directory$', 'm'));
    const tar = spawnSync('tar', ['-C', context({ a: '' }), '-cf', '-',
      '.']).stdout;
    const r0 = eng.sk(['build', '-'], tar);
    assert.deepEqual([r0.status, r0.stderr], [1, 'skiff: Cannot locate ' +
      'specified Dockerfile: Dockerfile\n']);
    const dir = context({ Dockerfile: 'FROM busybox\nCOPY out /\n' });
    symlinkSync('/etc/passwd', join(dir, 'out'));
    const r = eng.sk(['build', dir]);
    assert.match(r.stderr, /forbidden path outside the build context: out/);
  });

  test('as dockerd: unused build-args, ONBUILD, ! inside an ignored dir',
    () => {
      const out = ok('build', '--build-arg', 'ZED=1', '--build-arg',
        'USED=2', '--build-arg', 'ALPHA=3', '-t', 'onb', context({
          Dockerfile: 'FROM busybox\nARG USED\n' +
            'ONBUILD RUN echo triggered > /t\nONBUILD COPY f /f\n' }));
      assert.match(out, new RegExp('\\[Warning\\] One or more build-args ' +
        '\\[ALPHA ZED\\] were not consumed\nSuccessfully built '));
      const child = ok('build', context({ f: 'fff\n',
        Dockerfile: 'FROM onb\nRUN cat /t /f\n' }));
      // One image line for FROM and its triggers, after them (docker).
      assert.match(child, new RegExp('^Step 1/2 : FROM onb\n# Executing ' +
        '2 build triggers\n ---> Running in \\w+\nRemoving intermediate ' +
        'container \\w+\n ---> \\w{12}\nStep 2/2'));
      assert.match(child, /\ntriggered\nfff\n/);
      const dir = context({ '.dockerignore': 'docs\n!docs/README.md\n',
        'docs/README.md': 'r\n', 'docs/other.md': 'o\n',
        Dockerfile: 'FROM busybox\nCOPY . /ctx/\nRUN find /ctx/docs\n' });
      assert.match(ok('build', dir),
        /\n\/ctx\/docs\n\/ctx\/docs\/README\.md\nRemoving /);
    });

  test('ADD of a URL on 127.0.0.1: mode 600, a 404 named',
    async () => {
      let body = 'one\n';
      const srv = http.createServer((req, res) => {
        if (req.url === '/motd') res.end(body);
        else res.writeHead(404, 'Not Found').end();
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
      try {
        const dir = context({ Dockerfile: `FROM busybox\nADD ${url}/motd ` +
          '/etc/\nRUN stat -c %a /etc/motd; cat /etc/motd\n' });
        const first = await eng.skAsync(['build', dir]);
        assert.match(first.stdout, /\n600\none\n/, first.stderr);
        // A changed download is the build page's lab (add-url): here a
        // rebuild reuses the first one.
        body = 'two\n';
        const second = await eng.skAsync(['build', '--no-cache', dir]);
        assert.match(second.stdout, /\n600\ntwo\n/, second.stderr);
        const bad = await eng.skAsync(['build', context({
          Dockerfile: `FROM busybox\nADD ${url}/nope /x\n` })]);
        assert.equal(bad.status, 1);
        assert.equal(bad.stderr, `skiff: ADD failed: failed to GET ${url}` +
          '/nope with status 404 Not Found\n');
      } finally {
        srv.close();
      }
    });

  test('docker build (the classic builder) against the daemon',
    { skip: DOCKER ? false : 'no docker CLI on PATH' }, () => {
      const dir = context({ Dockerfile: 'FROM busybox\n' +
        'RUN echo from docker > /msg\nCMD ["cat", "/msg"]\n' });
      const r = eng.docker(['build', '-t', 'bydocker', dir]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Successfully tagged bydocker:latest/);
      assert.equal(ok('run', '--rm', 'bydocker'), 'from docker\n');
      const failed = eng.docker(['build', context({
        Dockerfile: 'FROM busybox\nRUN exit 7\n' })]);
      assert.equal(failed.status, 7);
      assert.match(failed.stderr, /returned a non-zero code: 7/);
      // Before the first step dockerd answers 400, not a stream.
      const parse = eng.docker(['build', context({
        Dockerfile: 'FROM busybox\nFROOM x\n' })]);
      assert.equal(parse.status, 1);
      assert.match(parse.stderr, new RegExp('Error response from daemon: ' +
        'dockerfile parse error on line 2'));
    });

  test('docker-py\'s images.build against the daemon',
    { skip: PY_DOCKER ? false : 'no python3 docker module' }, () => {
      const dir = context({ Dockerfile: 'FROM busybox\nARG N\n' +
        'RUN echo "n=$N" > /n\nCMD ["cat", "/n"]\n' });
      const r = spawnSync('python3', ['-c', [
        'import docker, sys',
        `c = docker.DockerClient(base_url="unix://${eng.sock}")`,
        'img, logs = c.images.build(path=sys.argv[1], tag="py:1", ' +
          'buildargs={"N": "7"})',
        'print(img.id, img.tags)',
        'try:',
        '    c.images.build(path=sys.argv[2])',
        'except docker.errors.BuildError as e:',
        '    print("failed:", e.msg)',
      ].join('\n'), dir, context({ Dockerfile: 'FROM busybox\nRUN false' })],
      { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^sha256:[0-9a-f]{64} \['py:1'\]\nfailed: The /);
      assert.equal(ok('run', '--rm', 'py:1'), 'n=7\n');
    });
});
