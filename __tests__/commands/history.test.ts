// appendHistory, readHistory, verifyRelease, the watchdog's lines: whole scripts and parsers. Behaviour against
// real files: history.sandbox.test.ts.
import {
  appendHistory,
  HISTORY_LINES,
  historyAppendSh,
  JAR_CHANGED_EXIT,
  readHistory,
  verifyRelease,
  watchdogHistorySh,
} from '../../src/commands/history.js';
import { OutputError } from '../../src/commands/types.js';
import { INTERRUPTED_ERROR } from '../../src/history.js';
import { body, hostilePaths, paths, SHA } from './helpers.js';

const LINE = '{"v":1,"event":"start","id":"20261130T115221Z-abcdef","mode":"deploy","actor":"o\'brien"}';

test('historyAppendSh: the newest lines and the new ones to a temp file, renamed over the history', () => {
  expect(HISTORY_LINES).toBe(2000);
  expect(historyAppendSh(paths)).toMatchInlineSnapshot(`
"history_append() {
  _h=/srv/app/history.jsonl
  _t="$_h.tmp.$$"
  { if [ -f "$_h" ]; then tail -n 1999 -- "$_h"; fi; printf '%s\\n' "$@"; } > "$_t" &&
    chmod 644 -- "$_t" && mv -f -- "$_t" "$_h" && return 0
  rm -f -- "$_t"
  return 1
}"
`);
});

describe('appendHistory', () => {
  test('the start: appended, and the run id recorded as open', () => {
    const cmd = appendHistory(paths, LINE, { open: '20261130T115221Z-abcdef' });
    expect(cmd.kind).toBe('appendHistory');
    expect(cmd.title).toBe('record the run in /srv/app/history.jsonl');
    expect(body(cmd.script, [historyAppendSh(paths)])).toMatchInlineSnapshot(`
"mkdir -p -- /srv/app/run || exit 1
history_append '{"v":1,"event":"start","id":"20261130T115221Z-abcdef","mode":"deploy","actor":"o'\\''brien"}' || { echo 'cannot write /srv/app/history.jsonl (disk full? not writable?)' >&2; exit 1; }
printf '%s\\n' 20261130T115221Z-abcdef > /srv/app/run/history.open
"
`);
  });

  test('the end: appended, and the open marker removed', () => {
    const cmd = appendHistory(paths, '{"v":1}', { close: true });
    expect(body(cmd.script, [historyAppendSh(paths)])).toMatchInlineSnapshot(`
"mkdir -p -- /srv/app/run || exit 1
history_append '{"v":1}' || { echo 'cannot write /srv/app/history.jsonl (disk full? not writable?)' >&2; exit 1; }
rm -f -- /srv/app/run/history.open
"
`);
  });

  test('a hostile remote-dir and line stay single words', () => {
    const cmd = appendHistory(hostilePaths, "$(id)'`id`", { open: "$(id)'" });
    expect(body(cmd.script, [historyAppendSh(hostilePaths)])).toMatchInlineSnapshot(`
"mkdir -p -- '/srv/my app/$(touch /pwned);\`id\`'\\''"*; rm -rf //run' || exit 1
history_append '$(id)'\\''\`id\`' || { echo 'cannot write /srv/my app/$(touch /pwned);\`id\`'\\''"*; rm -rf //history.jsonl (disk full? not writable?)' >&2; exit 1; }
printf '%s\\n' '$(id)'\\''' > '/srv/my app/$(touch /pwned);\`id\`'\\''"*; rm -rf //run/history.open'
"
`);
  });
});

test('watchdogHistorySh: the open run ends as interrupted, with the error as a JSON string', () => {
  expect(watchdogHistorySh(paths, INTERRUPTED_ERROR).join('\n')).toMatchInlineSnapshot(`
"if [ -f /srv/app/run/history.open ] && read -r _id < /srv/app/run/history.open; then
  history_append "$(printf '{"v":1,"event":"end","id":"%s","ended":"%s","result":"interrupted","error":"the deploy'\\''s SSH session ended before it finished (run cancelled, runner lost or connection dropped)"}' "$_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" && rm -f -- /srv/app/run/history.open
fi"
`);
  // A % or \ of the error is escaped for printf's format; " and newlines for JSON.
  expect(watchdogHistorySh(paths, '50% "a\\b"\n')[1]).toBe(
    `  history_append "$(printf '{"v":1,"event":"end","id":"%s","ended":"%s","result":"interrupted","error":"50%% \\\\"a\\\\\\\\b\\\\"\\\\n"}' "$_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" && rm -f -- /srv/app/run/history.open`,
  );
});

describe('readHistory', () => {
  test('whole script', () => {
    const cmd = readHistory(paths);
    expect(cmd.kind).toBe('history');
    expect(cmd.title).toBe('read /srv/app/history.jsonl');
    expect(cmd.script).toMatchInlineSnapshot(`
"h=/srv/app/history.jsonl
if [ -r "$h" ]; then echo history=present; echo "history_b64=$(base64 -w0 < "$h")"
elif [ -e "$h" ]; then echo "$h exists but the deploy user cannot read it" >&2; exit 1
else echo history=missing; fi
cd -- /srv/app/releases 2>/dev/null || exit 0
ls -1tr | while IFS= read -r r; do
  [ -d "$r" ] || continue
  if [ -f "$r/app.jar" ] && [ -s "$r/app.jar.sha256" ]; then echo "release=$r complete"; else echo "release=$r partial"; fi
done
"
`);
  });

  test('parses the history text (base64) and the releases, oldest first', () => {
    const text = `${LINE}\n{"v":1,"event":"end"}\n`;
    const stdout = [
      'history=present',
      `history_b64=${Buffer.from(text).toString('base64')}`,
      'release=r1 complete',
      'release=r2 partial',
      '',
    ].join('\n');
    expect(readHistory(paths).parse(stdout)).toEqual({
      text,
      releases: [
        { id: 'r1', complete: true },
        { id: 'r2', complete: false },
      ],
    });
  });

  test('no history yet: empty text; no releases folder: no releases', () => {
    expect(readHistory(paths).parse('history=missing\n')).toEqual({ text: '', releases: [] });
    expect(readHistory(paths).parse('history=missing\nrelease=r1 complete\n')).toEqual({
      text: '',
      releases: [{ id: 'r1', complete: true }],
    });
  });

  test('output it does not understand is an error', () => {
    const parse = (stdout: string) => readHistory(paths).parse(stdout);
    expect(() => parse('history=maybe\n')).toThrow(
      new OutputError('the history script printed history=maybe'),
    );
    expect(() => parse('release=r1 complete\n')).toThrow(OutputError);
    expect(() => parse('history=present\n')).toThrow(OutputError);
  });
});

describe('verifyRelease', () => {
  test('whole script', () => {
    const cmd = verifyRelease(paths, 'r1');
    expect(cmd.kind).toBe('verifyRelease');
    expect(cmd.title).toBe('verify /srv/app/releases/r1/app.jar');
    expect(cmd.script).toMatchInlineSnapshot(`
"want=$(cat -- /srv/app/releases/r1/app.jar.sha256 2>/dev/null)
got=$(sha256sum -- /srv/app/releases/r1/app.jar 2>/dev/null | cut -d ' ' -f 1)
if [ -z "$want" ] || [ "$got" != "$want" ]; then
  printf '%s is not the jar that was uploaded (sha256 %s, recorded %s): it is not launched; deploy the release again\\n' /srv/app/releases/r1/app.jar "\${got:-missing}" "\${want:-none}" >&2
  exit 41
fi
echo "sha256=$got"
"
`);
    expect(JAR_CHANGED_EXIT).toBe(41);
  });

  test('parses the sha256 it found', () => {
    expect(verifyRelease(paths, 'r1').parse(`sha256=${SHA}\n`)).toBe(SHA);
    expect(() => verifyRelease(paths, 'r1').parse('')).toThrow(OutputError);
  });
});
