// The one parser of -v. Pure functions: no root needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { absoluteBind, parseBind } from './binds.ts';

describe('-v', () => {
  test('host paths, named volumes, anonymous volumes, ro', () => {
    assert.deepEqual(parseBind('/srv:/data:ro'),
      { source: '/srv', destination: '/data', readOnly: true });
    assert.deepEqual(parseBind('cache:/var/cache'),
      { source: 'cache', destination: '/var/cache', readOnly: false });
    assert.deepEqual(parseBind('/data'),
      { source: '', destination: '/data', readOnly: false });
    assert.equal(parseBind('/a:/b:ro,z').readOnly, true);
    assert.equal(parseBind('/a:/b:rw').readOnly, false);
  });

  test('bad -v: one line naming it, exit code 125', () => {
    for (const bad of ['', 'data', '/a:b', '/a:/b:rx', '/a:/b:ro:x',
      'a:']) {
      assert.throws(() => parseBind(bad), { exitCode: 125,
        message: `invalid volume specification: '${bad}'` }, bad);
    }
  });

  test('./dir is a path of the client, other names are volumes', () => {
    assert.equal(absoluteBind('./d:/x:ro', '/home/u'), '/home/u/d:/x:ro');
    assert.equal(absoluteBind('../d:/x', '/home/u'), '/home/d:/x');
    assert.equal(absoluteBind('vol:/x', '/home/u'), 'vol:/x');
    assert.equal(absoluteBind('/x', '/home/u'), '/x');
  });
});
