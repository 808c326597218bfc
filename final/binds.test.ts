// The one parser of -v, --mount, --tmpfs (and --ulimit). Pure
// functions: no root needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  absoluteBind, containerMounts, parseBind, parseMountFlag, parseUlimit,
} from './binds.ts';

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

describe('a container\'s mounts: -v, --mount, --tmpfs, VOLUME', () => {
  test('one list, parents first, the image\'s VOLUMEs not covered', () => {
    const list = containerMounts({ Binds: ['/srv:/data/x:ro,rshared'],
      Mounts: [parseMountFlag('type=volume,src=v,dst=/data,volume-nocopy'),
        parseMountFlag('type=tmpfs,dst=/run,tmpfs-size=1m,tmpfs-mode=700')],
      Tmpfs: { '/tmp': 'exec,size=2m' } }, { '/data': {}, '/cache/': {} });
    assert.deepEqual(list.map((m) => [m.type, m.destination, m.source]), [
      ['volume', '/data', 'v'], ['tmpfs', '/run', ''],
      ['tmpfs', '/tmp', ''], ['volume', '/cache', ''],
      ['bind', '/data/x', '/srv']]);
    const [data, run, tmp, , bind] = list;
    assert.equal(data.noCopy, true);
    assert.deepEqual(run.options, ['noexec', 'nosuid', 'nodev',
      'mode=700', 'size=1m']);
    assert.deepEqual(tmp.options, ['noexec', 'nosuid', 'nodev', 'exec',
      'size=2m']);
    assert.deepEqual([bind.readOnly, bind.propagation], [true, 'rshared']);
  });

  test('dockerd\'s refusals, word for word', () => {
    const refuses = (host: object, message: string) =>
      assert.throws(() => containerMounts(host), { message });
    refuses({ Mounts: [{ Type: 'bind', Target: '/m' }] },
      'invalid mount config for type "bind": field Source must not be ' +
      'empty');
    refuses({ Mounts: [{ Type: 'tmpfs', Source: 'x', Target: '/m' }] },
      'invalid mount config for type "tmpfs": field Source must not be ' +
      'specified');
    refuses({ Mounts: [{ Type: 'volume', Target: '/m', ReadOnly: true }] },
      'invalid mount config for type "volume": must not set ReadOnly ' +
      'mode when using anonymous volumes');
    refuses({ Mounts: [{ Type: 'bogus', Target: '/m' }] },
      'invalid mount config for type "bogus": mount type unknown');
    refuses({ Mounts: [{ Type: 'bind', Source: '/a', Target: 'm' }] },
      'invalid mount config for type "bind": invalid mount path: \'m\' ' +
      'mount path must be absolute');
    refuses({ Binds: ['/a:/m'], Mounts: [{ Type: 'tmpfs', Target: '/m' }] },
      'Duplicate mount point: /m');
    refuses({ Binds: ['/a:/m'], Tmpfs: { '/m': '' } },
      'Duplicate mount point: /m');
    refuses({ Tmpfs: { '/t': 'bogus' } }, 'invalid tmpfs option ["bogus"]');
    refuses({ Tmpfs: { t: '' } },
      'invalid mount path: \'t\' mount path must be absolute');
  });

  test('--mount and --ulimit as the docker CLI reads them', () => {
    assert.deepEqual(parseMountFlag('type=bind,src=/a,dst=/b,ro,' +
      'bind-propagation=rslave'), { Type: 'bind', Source: '/a',
      Target: '/b', ReadOnly: true, BindOptions: { Propagation: 'rslave' } });
    assert.throws(() => parseMountFlag('type=bind,src=/a'),
      /target is required/);
    assert.deepEqual(parseUlimit('nofile=1024:2048'),
      { Name: 'nofile', Soft: 1024, Hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=10'),
      { Name: 'nproc', Soft: 10, Hard: 10 });
    assert.throws(() => parseUlimit('foo=1'), /invalid ulimit type: foo/);
    assert.throws(() => parseUlimit('nofile=10:5'),
      /soft limit must be less than or equal to hard limit: 10 > 5/);
  });
});
