// The Dockerfile's grammar and .dockerignore, as docker's reference
// describes them: pure functions, no root needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDockerfile } from './dockerfile.ts';
import { ignored, parseIgnore } from './ignore.ts';
import { expandWord, expandWords, rawWords } from './words.ts';

describe('Dockerfile parser', () => {
  test('stages, instructions, flags and the exec form', () => {
    const df = parseDockerfile([
      'ARG BASE=busybox',
      'FROM $BASE AS build',
      'run echo hi > /x',
      'COPY --chown=1:2 --chmod=644 a b /dst/',
      'FROM scratch',
      'COPY --from=build /x /x',
      'CMD ["/bin/sh", "-c", "echo hi"]',
      'ENTRYPOINT [not json',
    ].join('\n'));
    assert.equal(df.globalArgs[0].text, 'BASE=busybox');
    assert.deepEqual(df.stages.map((s) => [s.base, s.name]),
      [['$BASE', 'build'], ['scratch', undefined]]);
    const [run, copy] = df.stages[0].body;
    assert.deepEqual([run.cmd, run.text, run.line], ['RUN', 'echo hi > /x',
      3]);
    assert.deepEqual(copy.flags, { chown: '1:2', chmod: '644' });
    assert.equal(copy.text, 'a b /dst/');
    const [from, cmd, entry] = df.stages[1].body;
    assert.equal(from.flags.from, 'build');
    assert.deepEqual(cmd.json, ['/bin/sh', '-c', 'echo hi']);
    assert.equal(entry.json, undefined); // not JSON: the shell form
    assert.equal(entry.text, '[not json');
  });

  test('continuations, comments inside them, blank lines', () => {
    const df = parseDockerfile('FROM busybox\nRUN echo a \\\n# note\n' +
      '\n  && echo b \\  \n  && echo c\nLABEL x=1\n');
    const [run, label] = df.stages[0].body;
    assert.equal(run.text, 'echo a   && echo b   && echo c');
    assert.equal(run.line, 2);
    assert.equal(label.line, 7);
  });

  test('# escape=` and # syntax= at the top only', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\n' +
      '# escape=`\nFROM busybox\nRUN echo a `\n  b\n# escape=\\\n');
    assert.equal(df.escape, '`');
    assert.equal(df.syntax, 'docker/dockerfile:1');
    assert.equal(df.stages[0].body[0].text, 'echo a   b');
    const late = parseDockerfile('FROM busybox\n# escape=`\nRUN a \\\n b');
    assert.equal(late.escape, '\\');
    assert.throws(() => parseDockerfile('# escape=\\\n# escape=`\nFROM a'),
      /only one escape parser directive/);
  });

  test('ONBUILD keeps its trigger; errors name file and line', () => {
    const df = parseDockerfile('FROM busybox\nONBUILD RUN echo later');
    assert.equal(df.stages[0].body[0].trigger?.cmd, 'RUN');
    const bad = (src: string, msg: RegExp) =>
      assert.throws(() => parseDockerfile(src, 'Dockerfile.dev'), msg);
    bad('FROM a\nFOO bar', /^Error: dockerfile parse error on line 2 of /);
    bad('FROM a\nFOO bar', /Dockerfile.dev: unknown instruction: FOO$/);
    bad('FROM a\nCOPY --form=x a b', /line 2 .*COPY: unknown flag: --form/);
    bad('RUN true', /line 1 .*comes before the first FROM/);
    bad('FROM a\nSHELL sh -c', /SHELL requires the arguments to be in JSON/);
    bad('FROM a AS b\nFROM c AS B', /duplicate name b/);
    bad('FROM a b', /FROM requires either one or three arguments/);
    bad('FROM a\nONBUILD FROM b', /FROM isn't allowed as an ONBUILD/);
    bad('# just a comment\n', /file with no instructions/);
  });
});

describe('Dockerfile words', () => {
  const env = (name: string) => ({ A: 'a', E: '', SP: 'x y' })[name];

  test('variables: $A ${A} ${A:-w} ${A:+w} ${U-w} and escapes', () => {
    assert.equal(expandWord('$A-${A}_${U:-def}.${A:+set}${U:+no}', env),
      'a-a_def.set');
    assert.equal(expandWord('${E:-empty}|${E-unset}', env), 'empty|');
    assert.equal(expandWord('\\$A costs \\\\1', env), '$A costs \\1');
    assert.equal(expandWord('$', env), '$');
    assert.throws(() => expandWord('${U:?must be set}', env),
      /U: must be set/);
  });

  test('quotes: single literal, double expands', () => {
    assert.equal(expandWord('\'$A\' "$A \\"q\\"" x', env), '$A a "q" x');
    assert.deepEqual(expandWords('a "b c" $SP \'d e\'', env),
      ['a', 'b c', 'x', 'y', 'd e']);
    assert.throws(() => expandWord('"open', env), /double-quote/);
  });

  test('the backtick escape', () => {
    assert.equal(expandWord('C:`\\dir `$A', env, '`'), 'C:\\dir $A');
  });

  test('ENV/LABEL pairs split before they expand', () => {
    assert.deepEqual(rawWords('a="x y" b=c\\ d  c=\'$A z\''),
      ['a="x y"', 'b=c\\ d', 'c=\'$A z\'']);
  });
});

describe('.dockerignore', () => {
  const p = parseIgnore([
    '# comment', 'node_modules', '*.log', '!keep.log', 'docs/**/*.md',
    '/build/', 'a?c', '**/tmp', '[x-z].txt',
  ].join('\n'));

  test('a directory takes everything below it', () => {
    assert.equal(ignored(p, 'node_modules'), true);
    assert.equal(ignored(p, 'node_modules/x/y.js'), true);
    assert.equal(ignored(p, 'build/out.o'), true);
    assert.equal(ignored(p, 'src/build/out.o'), false);
  });

  test('* stays in one directory; ** crosses them', () => {
    assert.equal(ignored(p, 'err.log'), true);
    assert.equal(ignored(p, 'logs/err.log'), false);
    assert.equal(ignored(p, 'docs/a.md'), true);
    assert.equal(ignored(p, 'docs/x/y/a.md'), true);
    assert.equal(ignored(p, 'docs/a.txt'), false);
    assert.equal(ignored(p, 'deep/down/tmp/f'), true);
    assert.equal(ignored(p, 'tmp'), true);
  });

  test('? and classes; ! takes a file back; the last match wins', () => {
    assert.equal(ignored(p, 'abc'), true);
    assert.equal(ignored(p, 'abbc'), false);
    assert.equal(ignored(p, 'y.txt'), true);
    assert.equal(ignored(p, 'a.txt'), false);
    assert.equal(ignored(p, 'keep.log'), false);
    assert.equal(ignored(parseIgnore('!keep.log\n*.log'), 'keep.log'),
      true);
  });

  test('paths are cleaned as Go cleans them', () => {
    assert.equal(ignored(parseIgnore('./a/../b/'), 'b/c'), true);
    assert.equal(ignored(p, './node_modules/'), true);
  });
});
