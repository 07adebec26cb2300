// The helpers every builder's script and parser is made of.
import { keyValues, OutputError, required, requiredNumber, script } from '../../src/commands/types.js';

describe('script', () => {
  test('one line per statement, a final newline; false and undefined are left out', () => {
    expect(script('a', false, undefined, 'b')).toBe('a\nb\n');
    expect(script('', 'x')).toBe('\nx\n');
    expect(script()).toBe('\n');
  });
});

describe('keyValues', () => {
  test('key=value lines, trimmed; the first = splits; later keys win', () => {
    const kv = keyValues(' a = 1 \nb=x=y\nnoise\n=nokey\nc=\na=2\n');
    expect([...kv.entries()]).toEqual([
      ['a', '2'],
      ['b', 'x=y'],
      ['c', ''],
    ]);
    expect(keyValues('')).toEqual(new Map());
  });
});

describe('required and requiredNumber', () => {
  const kv = keyValues('n=42\nz=0\nempty=\nword=4x\nlead=x4\nneg=-1\n');

  test('a present key', () => {
    expect(required(kv, 'empty')).toBe('');
    expect(required(kv, 'word')).toBe('4x');
    expect(requiredNumber(kv, 'n')).toBe(42);
    expect(requiredNumber(kv, 'z')).toBe(0);
  });

  test('a missing key or a non-number is an OutputError with the key', () => {
    expect(() => required(kv, 'missing')).toThrow(new OutputError('the remote script printed no missing='));
    for (const key of ['empty', 'word', 'lead', 'neg']) {
      expect(() => requiredNumber(kv, key)).toThrow(
        new OutputError(`the remote script printed ${key}=${kv.get(key)}, not a number`),
      );
    }
    expect(() => requiredNumber(kv, 'missing')).toThrow(OutputError);
  });

  test('OutputError is an Error with its own name', () => {
    const error = new OutputError('x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('OutputError');
    expect(error.message).toBe('x');
  });
});
