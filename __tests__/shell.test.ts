import { execFileSync } from 'node:child_process';
import { quote, quoteAll, splitWords } from '../src/shell.js';

/** What /bin/sh makes of a quoted word: the proof that quoting round-trips. */
function shEcho(word: string): string {
  return execFileSync('sh', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' });
}

describe('quote', () => {
  test.each([
    ['plain', 'plain'],
    ['/opt/app/releases/1', '/opt/app/releases/1'],
    ['--server.port=8080', '--server.port=8080'],
    ['', "''"],
    ['with space', "'with space'"],
    ["it's", "'it'\\''s'"],
    ['$(touch /tmp/x)', "'$(touch /tmp/x)'"],
    ['a;b', "'a;b'"],
    ['*.jar', "'*.jar'"],
    ['~root', "'~root'"],
  ])('%j -> %s', (input, expected) => {
    expect(quote(input)).toBe(expected);
  });

  test.each(['a b', 'x\'y"z', '$(id)', '`id`', 'a\nb', '; rm -rf /', '-n', '*', '\\', '$HOME', '!x', '%s'])(
    'round-trips %j through sh',
    (value) => {
      expect(shEcho(quote(value))).toBe(value);
    },
  );

  test('rejects NUL', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  test('quoteAll joins words', () => {
    expect(quoteAll(['java', '-Dx=a b', '-jar'])).toBe("java '-Dx=a b' -jar");
  });
});

describe('splitWords', () => {
  test.each([
    ['-Xmx512m -Dfile.encoding=UTF-8', ['-Xmx512m', '-Dfile.encoding=UTF-8']],
    ['  a\n b\t c ', ['a', 'b', 'c']],
    ['-Dgreeting="hello world"', ['-Dgreeting=hello world']],
    ["--name='it is' x", ['--name=it is', 'x']],
    ['a\\ b', ['a b']],
    ['"say \\"hi\\""', ['say "hi"']],
    ['\'$(id)\' "$HOME"', ['$(id)', '$HOME']],
    ['""', ['']],
    ['', []],
    ['a\\\nb', ['ab']],
    ['\\$ x', ['$', 'x']],
    ["\\'", ["'"]],
    ['"a\\b\\$"', ['a\\b$']],
  ])('%j', (input, expected) => {
    expect(splitWords(input)).toEqual(expected);
  });

  test.each([
    ["'open", "unterminated ' in: 'open"],
    ['"open', 'unterminated " in: "open'],
    ['"open\\', 'unterminated " in: "open\\'],
    ['trailing\\', 'trailing backslash in: trailing\\'],
  ])('rejects %j', (input, message) => {
    expect(() => splitWords(input)).toThrow(new Error(message));
  });
});
