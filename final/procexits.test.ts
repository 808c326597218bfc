// The kernel's process events, as the daemon uses them for containers it
// is not the parent of (final/daemon/procexits.ts): the wait status of a
// watched process, by exit code and by signal; none where the kernel
// will not answer (a user namespace); a zombie counts as ended.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { needsRoot, REPO } from '../support/testing.ts';
import { needsUserNs } from '../chapters/02-namespaces/harness.ts';
import { processStartTime } from './daemon/runtime.ts';
import { ProcExits, stillRuns } from './daemon/procexits.ts';

const exited = (c: ChildProcess) => new Promise((r) => c.once('exit', r));

describe('process events', needsRoot, () => {
  test('the wait status of watched processes, by code and by signal',
    async () => {
      const exits = ProcExits.listen([], (err) => assert.fail(err));
      assert.ok(exits);
      try {
        const seven = spawn('sh', ['-c', 'sleep 0.2; exit 7']);
        const killed = spawn('sleep', ['10']);
        const other = spawn('sh', ['-c', 'exit 3']);
        exits.watch(seven.pid!);
        exits.watch(killed.pid!);
        killed.kill('SIGKILL');
        await Promise.all([exited(seven), exited(killed), exited(other)]);
        assert.equal(exits.status(seven.pid!), 7 << 8);
        assert.equal(exits.status(killed.pid!), 9);
        assert.equal(exits.status(other.pid!), undefined); // not watched
      } finally {
        exits.close();
      }
    });

  test('no answer in a user namespace: none, with the reason',
    needsUserNs, () => {
    const r = spawnSync('unshare', ['-U', '-r', process.execPath,
      '--import', 'tsx', '-e', `
        const { ProcExits } = await import('./final/daemon/procexits.ts');
        const e = ProcExits.listen([1], (err) => console.log(err.message));
        console.log(e === undefined);`], { cwd: REPO, encoding: 'utf8' });
    // Kernels differ in how they refuse: no answer to the subscription,
    // or (6.18.44 here) bind(2) itself refused for want of CAP_NET_ADMIN
    // in the initial user namespace.
    const reason = new RegExp('^(listen for process events: no answer ' +
      'from the kernel|bind\\(.*\\): EPERM)\ntrue\n$');
    assert.match(r.stdout, reason, r.stderr);
  });

  test('a zombie has ended', async () => {
    // sleep 5 never reaps the sleep 0 it inherits from sh's exec.
    const parent = spawn('sh', ['-c', 'sleep 0 & exec sleep 5']);
    try {
      let zombie = 0;
      for (let i = 0; i < 100 && !zombie; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const kids = readFileSync(`/proc/${parent.pid}/task/${parent.pid}` +
          '/children', 'utf8').trim();
        const stat = kids && readFileSync(`/proc/${kids}/stat`, 'utf8');
        if (stat && / Z /.test(stat)) zombie = Number(kids);
      }
      assert.ok(zombie, 'no zombie appeared');
      assert.equal(stillRuns(zombie, processStartTime(zombie)), false);
      assert.equal(stillRuns(parent.pid!, processStartTime(parent.pid!)),
        true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
