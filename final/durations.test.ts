// Go's durations, read and written as time.ParseDuration and
// Duration.String do (the values docker's flags and messages use).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './durations.ts';

test('parseDuration: Go\'s syntax, in nanoseconds', () => {
  const cases: [string, number][] = [['0', 0], ['30s', 30e9],
    ['1m30s', 90e9], ['500ms', 500e6], ['1h', 3600e9], ['1.5h', 5400e9],
    ['.5s', 500e6], ['1.s', 1e9], ['-2s', -2e9], ['+3ms', 3e6],
    ['10us', 10e3], ['10µs', 10e3], ['7ns', 7], ['1h2m3s4ms', 3723004e6]];
  for (const [text, ns] of cases) assert.equal(parseDuration(text), ns, text);
});

test('parseDuration: Go\'s errors', () => {
  assert.throws(() => parseDuration(''), /^Error: time: invalid duration ""$/);
  assert.throws(() => parseDuration('abc'),
    /^Error: time: invalid duration "abc"$/);
  assert.throws(() => parseDuration('.s'), /invalid duration "\.s"/);
  assert.throws(() => parseDuration('10'),
    /^Error: time: missing unit in duration "10"$/);
  assert.throws(() => parseDuration('1s5'), /missing unit in duration/);
  assert.throws(() => parseDuration('3x'),
    /^Error: time: unknown unit "x" in duration "3x"$/);
});

test('formatDuration: Duration.String', () => {
  const cases: [number, string][] = [[0, '0s'], [30e9, '30s'],
    [90e9, '1m30s'], [500e6, '500ms'], [3600e9, '1h0m0s'], [1.5e9, '1.5s'],
    [1500, '1.5µs'], [7, '7ns'], [-2e9, '-2s'], [3723004e6, '1h2m3.004s']];
  for (const [ns, text] of cases) assert.equal(formatDuration(ns), text);
});
