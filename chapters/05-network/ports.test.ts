// The one parser of `-p`, its Engine API shapes and the network modes'
// rules. Pure functions: no root needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkHostAddresses, fromPortBindings, parsePublish, publishMode,
  toEngineApi, type PortMapping,
} from './ports.ts';

const tcp = (c: number, h?: number, hostIP = ''): PortMapping => ({
  hostIP, containerPort: { start: c, end: c },
  hostPort: h === undefined ? undefined : { start: h, end: h },
  protocol: 'tcp' });

describe('chapter 05: -p', () => {
  test('docker run -p forms', () => {
    assert.deepEqual(parsePublish('8080:80'), tcp(80, 8080));
    assert.deepEqual(parsePublish('80'), tcp(80));
    assert.deepEqual(parsePublish('0.0.0.0:81:80'), tcp(80, 81));
    assert.deepEqual(parsePublish('127.0.0.1::53/udp'), {
      ...tcp(53, undefined, '127.0.0.1'), protocol: 'udp' });
    // Host port 0: any free one (docker-compose's "127.0.0.1:0:80").
    assert.deepEqual(parsePublish('127.0.0.1:0:80'),
      tcp(80, undefined, '127.0.0.1'));
    assert.deepEqual(fromPortBindings({ '80/tcp': [{ HostIp: '',
      HostPort: '0' }] }), [tcp(80)]);
    assert.equal(parsePublish('9:9/sctp').protocol, 'sctp');
    assert.deepEqual(parsePublish('8000-8001:80-81'), {
      hostIP: '', hostPort: { start: 8000, end: 8001 },
      containerPort: { start: 80, end: 81 }, protocol: 'tcp' });
    // One container port, any free host port of the range.
    assert.deepEqual(parsePublish('8000-8009:80').hostPort,
      { start: 8000, end: 8009 });
  });

  test('bad -p: one line naming the value, exit code 125', () => {
    for (const bad of ['80/icmp', '80/tcp/udp', '70000:80', '0', 'a:b',
      '1:2:3:4', '300.0.0.1:80:80', '8000-8002:80-81', '8000:80-81',
      '81-80', '']) {
      assert.throws(() => parsePublish(bad), (err: Error) => {
        assert.match(err.message, /^invalid publish "/, bad);
        assert.equal((err as { exitCode?: number }).exitCode, 125);
        return true;
      }, bad);
    }
  });

  test('to the Engine API and back, as the docker CLI sends it', () => {
    const maps = ['127.0.0.1:8000-8001:80-81', '53/udp',
      '9000-9009:90'].map(parsePublish);
    const api = toEngineApi(maps);
    assert.deepEqual(api.ExposedPorts, { '80/tcp': {}, '81/tcp': {},
      '53/udp': {}, '90/tcp': {} });
    assert.deepEqual(api.PortBindings, {
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000' }],
      '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '8001' }],
      '53/udp': [{ HostIp: '', HostPort: '' }],
      '90/tcp': [{ HostIp: '', HostPort: '9000-9009' }],
    });
    assert.deepEqual(fromPortBindings(api.PortBindings), [
      { ...tcp(80, 8000, '127.0.0.1') }, { ...tcp(81, 8001, '127.0.0.1') },
      { ...tcp(53), protocol: 'udp' },
      { ...tcp(90), hostPort: { start: 9000, end: 9009 } },
    ]);
    // Any API client: a key without protocol, missing fields.
    assert.deepEqual(fromPortBindings({ 80: [{}], 81: null }), [tcp(80)]);
    assert.throws(() => fromPortBindings({ '80/tcp': [{ HostPort: 'x' }] }),
      /^Error: invalid publish ":x:80\/tcp": bad port "x"$/);
  });

  test('network modes: host and none drop -p, container: refuses it', () => {
    const ports = [tcp(80, 8080)];
    assert.deepEqual(publishMode('bridge', ports), { ports });
    assert.deepEqual(publishMode('host', ports), { ports: [], warning:
      'Published ports are discarded when using host network mode' });
    assert.deepEqual(publishMode('none', ports).ports, []);
    assert.deepEqual(publishMode('container:x', []), { ports: [] });
    assert.throws(() => publishMode('container:x', ports),
      /^Error: conflicting options: port publishing and the container/);
  });

  test('a host IP the host lacks is refused; loopback is always there',
    () => {
      checkHostAddresses([tcp(80, 8080, '127.0.0.5'), tcp(80)]);
      assert.throws(() => checkHostAddresses([tcp(80, 8080, '192.0.2.7')]),
        /^Error: cannot publish 192\.0\.2\.7:8080: address not assigned/);
    });
});
