// The one table of signals: names and numbers as docker takes them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSignal, signalName } from './signals.ts';

describe('chapter 02: signals', () => {
  test('names with or without SIG, any case, and numbers', () => {
    for (const s of ['KILL', 'SIGKILL', 'kill', 'sigkill', '9', 9]) {
      assert.equal(parseSignal(s), 9, String(s));
    }
    assert.equal(parseSignal('TERM'), 15);
    assert.equal(parseSignal('SIGWINCH'), 28);
    assert.equal(parseSignal('RTMIN'), 34);
    assert.equal(parseSignal('SIGRTMIN+3'), 37);
    assert.equal(parseSignal('RTMAX-1'), 63);
    assert.equal(parseSignal('64'), 64);
  });

  test('unknown names and numbers out of range are refused', () => {
    for (const bad of ['FOO', 'SIG', '', '0', '65', '-9', '1.5', '33',
      'RTMIN+31', 'RTMAX+1']) {
      assert.throws(() => parseSignal(bad),
        { message: `invalid signal: ${bad}`, exitCode: 125 }, bad);
    }
  });

  test('each number has one name', () => {
    assert.equal(signalName(9), 'SIGKILL');
    assert.equal(signalName(6), 'SIGABRT');
    assert.equal(signalName(29), 'SIGIO');
    assert.equal(signalName(36), 'SIGRTMIN+2');
    assert.equal(signalName(33), '33');
  });
});
