import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyscallError, errnoName, syscall } from './kernel.ts';

test('a failing call throws an error naming call, argument and errno', () => {
  const chdir = syscall<[string]>('int chdir(const char *path)');
  assert.throws(() => chdir('/no/such/dir'), (err: unknown) => {
    assert.ok(err instanceof SyscallError);
    assert.equal(err.message, 'chdir("/no/such/dir"): ENOENT');
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.errno, 2);
    return true;
  });
});

test('a successful call returns its value', () => {
  const getpid = syscall<[]>('int getpid(void)');
  assert.equal(getpid(), process.pid);
});

test('errno numbers map to their names', () => {
  assert.equal(errnoName(1), 'EPERM');
  assert.equal(errnoName(22), 'EINVAL');
});
