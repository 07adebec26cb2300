// POSIX shell quoting and word splitting. Every user value that reaches a remote shell goes through quote().

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quote one value as a single POSIX sh word; plain words stay readable, the rest is single-quoted. */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed to a remote shell');
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Quote each value and join them with spaces: one command line. */
export function quoteAll(values: readonly string[]): string {
  return values.map(quote).join(' ');
}

/**
 * Split a string into words the way a shell would, without any expansion: whitespace separates words,
 * '...' is literal, "..." allows \" \\ \$ \` escapes, a backslash outside quotes escapes the next character.
 * Used for inputs such as java-opts and app-args, so users can write `-Dgreeting="hello world"`.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${text}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated " in: ${text}`);
        const d = text[i];
        if (d === '"') break;
        if (d === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) {
          word += text[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= text.length) throw new Error(`trailing backslash in: ${text}`);
      if (text[i + 1] !== '\n') word += text[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
