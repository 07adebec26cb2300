// Reading and checking single inputs. Problems are collected so that one run reports all of them.
import { splitWords } from '../shell.js';
import type { InputReader } from './settings.js';

export class Checker {
  readonly problems: string[] = [];
  constructor(private readonly read: InputReader) {}

  raw(name: string): string {
    return this.read(name).trim();
  }

  fail(name: string, message: string): undefined {
    this.problems.push(`${name}: ${message}`);
    return undefined;
  }

  required(name: string): string {
    const value = this.raw(name);
    if (value === '') this.fail(name, 'is required');
    return value;
  }

  /** A decimal number (no exponent); with `integer`, digits only: `1.5` and `2.0` are refused. */
  number(name: string, opts: { min: number; max?: number; integer?: boolean }, fallback: number): number {
    const text = this.raw(name);
    if (text === '') return fallback;
    const value = Number(text);
    const ok =
      (opts.integer ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(text) &&
      value >= opts.min &&
      (opts.max === undefined || value <= opts.max);
    if (!ok) {
      const range = opts.max === undefined ? `>= ${opts.min}` : `from ${opts.min} to ${opts.max}`;
      this.fail(name, `must be ${opts.integer ? 'a whole number' : 'a number'} ${range}, got "${text}"`);
      return fallback;
    }
    return value;
  }

  seconds(name: string, fallback: number, min = 0): number {
    return Math.round(this.number(name, { min }, fallback) * 1000);
  }

  port(name: string, fallback: number): number {
    return this.number(name, { min: 1, max: 65535, integer: true }, fallback);
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name).toLowerCase();
    if (text === '') return fallback;
    if (['true', 'yes', '1'].includes(text)) return true;
    if (['false', 'no', '0'].includes(text)) return false;
    this.fail(name, `must be true or false, got "${text}"`);
    return fallback;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const text = this.raw(name).toLowerCase();
    if (text === '') return fallback;
    if ((choices as readonly string[]).includes(text)) return text as T;
    this.fail(name, `must be one of ${choices.join(', ')}, got "${text}"`);
    return fallback;
  }

  /** An absolute path on the host, without its trailing slashes. */
  absolutePath(name: string, fallback: string): string {
    return this.checkPath(name, this.raw(name) || fallback);
  }

  /** The same, for an input without a default: undefined when empty. */
  optionalPath(name: string): string | undefined {
    const value = this.raw(name);
    return value === '' ? undefined : this.checkPath(name, value);
  }

  private checkPath(name: string, value: string): string {
    const trimmed = value.replace(/\/+$/, '');
    if (!value.startsWith('/')) this.fail(name, `must be an absolute path on the host, got "${value}"`);
    else if (/[\0\n\r]/.test(value)) this.fail(name, 'must not contain newlines');
    else if (value.split('/').some((part) => part === '..')) this.fail(name, 'must not contain ".."');
    else if (trimmed === '') this.fail(name, 'must not be the root directory');
    return trimmed;
  }

  words(name: string): string[] {
    try {
      return splitWords(this.raw(name));
    } catch (error) {
      this.fail(name, `${(error as Error).message} (quote words with ' or ")`);
      return [];
    }
  }

  envLines(name: string): [string, string][] {
    const pairs: [string, string][] = [];
    this.read(name)
      .split(/\r?\n/)
      .forEach((line, index) => {
        if (line.trim() === '' || line.trim().startsWith('#')) return;
        const eq = line.indexOf('=');
        const key = line.slice(0, eq).trim(); // read only when the line has an '='
        if (eq === -1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
          this.fail(name, `line ${index + 1} must be KEY=VALUE with KEY made of letters, digits and _`);
          return;
        }
        pairs.push([key, line.slice(eq + 1)]);
      });
    return pairs;
  }
}
