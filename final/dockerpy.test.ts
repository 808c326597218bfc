// docker-py (the Python SDK docker-compose is built on) against skiff's
// daemon: containers, images, networks, volumes, exec, events and
// archives as a Python program calls them. Each group of calls is one
// run of testdata/dockerpy.py, with each interpreter that has docker-py
// (pip's 7 on PATH, Debian's 5 in /usr/bin): they speak to the API
// differently (version negotiation, stream reading, defaults). Skipped
// where neither is installed (scripts/prereqs.sh adds python3-docker).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isRoot, REPO, uniqueName } from '../support/testing.ts';
import { TestEngine, TIMEOUT } from './testing.ts';

const SCRIPT = join(REPO, 'final/testdata/dockerpy.py');

/** docker-py's version under `python`, or '' when it has none. */
function dockerPy(python: string): string {
  const r = spawnSync(python, ['-c',
    'import docker; print(docker.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// One interpreter per docker-py version: PATH's first.
const PYTHONS = new Map<string, string>();
for (const python of ['python3', '/usr/bin/python3']) {
  const version = dockerPy(python);
  if (version && ![...PYTHONS.values()].includes(version)) {
    PYTHONS.set(python, version);
  }
}
const skip = !isRoot ? 'needs root (sudo npm test)'
  : PYTHONS.size === 0 ? 'no python3 with docker-py (scripts/prereqs.sh ' +
    'installs Debian\'s python3-docker; skiff does not need it)' : false;

const GROUPS = ['containers', 'images', 'networks', 'volumes', 'exec',
  'events', 'archive'];
let eng: TestEngine;

before(async () => {
  if (skip) return;
  eng = new TestEngine('skpy');
  await eng.startDaemon();
});

after(() => {
  if (!eng) return;
  const left = eng.docker(['ps', '-aq']).stdout;
  const mounts = eng.stop();
  assert.equal(left, '', 'containers left');
  assert.deepEqual(mounts, [], 'mounts left behind');
});

for (const [python, version] of PYTHONS) {
  describe(`docker-py ${version} (${python}) against skiff's daemon`,
    { skip }, () => {
      for (const group of GROUPS) {
        test(group, () => {
          const r = spawnSync(python, [SCRIPT, eng.sock,
            uniqueName('py'), group], { encoding: 'utf8',
            timeout: TIMEOUT, env: { ...process.env, PYTHONPATH: '' } });
          assert.equal(r.status, 0, r.stdout + r.stderr);
          assert.equal(r.stdout, `${version}\nok\n`, r.stderr);
        });
      }
    });
}
if (PYTHONS.size === 0) describe('docker-py', { skip }, () => {});
