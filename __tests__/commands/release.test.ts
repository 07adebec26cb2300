// prepareRelease, verifyUpload, pruneReleases, envFileContent: whole scripts and parsers. Behaviour against
// real files: release.sandbox.test.ts.
import {
  CHECKSUM_EXIT,
  envFileContent,
  NO_SPACE_EXIT,
  prepareRelease,
  pruneReleases,
  verifyUpload,
} from '../../src/commands/release.js';
import { OutputError } from '../../src/commands/types.js';
import { paths, replaced, SHA } from './helpers.js';

describe('prepareRelease', () => {
  test('whole script', () => {
    const cmd = prepareRelease(paths, '20261130T055400Z-abc1234', SHA, 10_000_000);
    expect(cmd.kind).toBe('prepare');
    expect(cmd.title).toBe('prepare release 20261130T055400Z-abc1234');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.script).toMatchInlineSnapshot(`
"releases=/srv/app/releases
id=20261130T055400Z-abc1234
n=1
until mkdir -- "$releases/$id" 2>/dev/null; do
  [ -d "$releases/$id" ] || { echo "cannot create a release folder in $releases" >&2; exit 1; }
  n=$((n + 1))
  id=20261130T055400Z-abc1234-$n
done
dir="$releases/$id"
echo "release=$id"
for f in "$releases"/*/app.jar.sha256; do
  [ -f "$f" ] || continue
  if [ "$(cat "$f")" = abababababababababababababababababababababababababababababababab ] && [ -f "\${f%.sha256}" ]; then
    if ln -f -- "\${f%.sha256}" "$dir/app.jar" 2>/dev/null || cp -- "\${f%.sha256}" "$dir/app.jar"; then
      if { printf '%s\\n' abababababababababababababababababababababababababababababababab > "$dir/app.jar.sha256"; } 2>/dev/null; then
        echo "reused=\${f%/app.jar.sha256}"
        exit 0
      fi
      echo "not enough disk space (disk full?): cannot write $dir/app.jar.sha256" >&2
      rm -rf -- "$dir"
      exit 28
    fi
  fi
done
avail=$(df -Pk -- "$dir" | awk 'NR == 2 { print $4 }')
if [ -n "$avail" ] && [ "$avail" -lt 11278 ]; then
  echo "not enough disk space (disk full?): \${avail} KiB free, 11278 KiB needed in" /srv/app >&2
  rm -rf -- "$dir"
  exit 28
fi
echo reused=
"
`);
  });

  test('space needed: the jar plus 5 %, rounded up to KiB, plus 1 MiB', () => {
    const base = prepareRelease(paths, 'r', SHA, 10_000_000).script;
    const need = (kb: number) => ({
      'if [ -n "$avail" ] && [ "$avail" -lt 11278 ]; then': `if [ -n "$avail" ] && [ "$avail" -lt ${kb} ]; then`,
      '  echo "not enough disk space (disk full?): ${avail} KiB free, 11278 KiB needed in" /srv/app >&2': `  echo "not enough disk space (disk full?): \${avail} KiB free, ${kb} KiB needed in" /srv/app >&2`,
    });
    expect(prepareRelease(paths, 'r', SHA, 0).script).toBe(replaced(base, need(1024)));
    expect(prepareRelease(paths, 'r', SHA, 1).script).toBe(replaced(base, need(1025)));
    expect(prepareRelease(paths, 'r', SHA, 1024 * 1024).script).toBe(replaced(base, need(1024 + 1076)));
    expect(prepareRelease(paths, 'r', SHA, 975).script).toBe(replaced(base, need(1025)));
  });

  test('hostile id and sha are quoted words', () => {
    const base = prepareRelease(paths, 'r', SHA, 10_000_000).script;
    expect(prepareRelease(paths, "a b'$(id)", "x'y", 10_000_000).script).toBe(
      replaced(base, {
        'id=r': "id='a b'\\''$(id)'",
        '  id=r-$n': "  id='a b'\\''$(id)'-$n",
        [`  if [ "$(cat "$f")" = ${SHA} ] && [ -f "\${f%.sha256}" ]; then`]: `  if [ "$(cat "$f")" = 'x'\\''y' ] && [ -f "\${f%.sha256}" ]; then`,
        [`      if { printf '%s\\n' ${SHA} > "$dir/app.jar.sha256"; } 2>/dev/null; then`]: `      if { printf '%s\\n' 'x'\\''y' > "$dir/app.jar.sha256"; } 2>/dev/null; then`,
      }),
    );
  });

  test('parser', () => {
    const parse = (stdout: string) => prepareRelease(paths, 'r', SHA, 1).parse(stdout);
    expect(parse('release=r\nreused=\n')).toEqual({ releaseId: 'r' });
    expect(parse('release=r-2\nreused=/srv/app/releases/r\n')).toEqual({
      releaseId: 'r-2',
      reusedFrom: '/srv/app/releases/r',
    });
    expect(() => parse('release=r\n')).toThrow(new OutputError('the remote script printed no reused='));
    expect(() => parse('reused=\n')).toThrow(new OutputError('the remote script printed no release='));
    expect(NO_SPACE_EXIT).toBe(28);
  });
});

describe('verifyUpload', () => {
  test('whole script', () => {
    const cmd = verifyUpload(paths, '20261130T055400Z-abc1234', SHA);
    expect(cmd.kind).toBe('verifyUpload');
    expect(cmd.title).toBe('verify sha256 of /srv/app/releases/20261130T055400Z-abc1234/app.jar');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.script).toMatchInlineSnapshot(`
"got=$(sha256sum -- /srv/app/releases/20261130T055400Z-abc1234/app.jar.part 2>/dev/null | cut -d ' ' -f 1)
if [ "$got" != abababababababababababababababababababababababababababababababab ]; then
  rm -f -- /srv/app/releases/20261130T055400Z-abc1234/app.jar.part
  echo "checksum mismatch: expected abababababababababababababababababababababababababababababababab, host has \${got:-no file}" >&2
  exit 29
fi
mv -f -- /srv/app/releases/20261130T055400Z-abc1234/app.jar.part /srv/app/releases/20261130T055400Z-abc1234/app.jar || exit 1
printf '%s\\n' abababababababababababababababababababababababababababababababab > /srv/app/releases/20261130T055400Z-abc1234/app.jar.sha256
"
`);
    expect(() => {
      cmd.parse('anything');
    }).not.toThrow();
    expect(CHECKSUM_EXIT).toBe(29);
  });

  test('a folder name with spaces stays quoted everywhere', () => {
    expect(verifyUpload(paths, 'r 1', SHA).script).toMatchInlineSnapshot(`
"got=$(sha256sum -- '/srv/app/releases/r 1/app.jar.part' 2>/dev/null | cut -d ' ' -f 1)
if [ "$got" != abababababababababababababababababababababababababababababababab ]; then
  rm -f -- '/srv/app/releases/r 1/app.jar.part'
  echo "checksum mismatch: expected abababababababababababababababababababababababababababababababab, host has \${got:-no file}" >&2
  exit 29
fi
mv -f -- '/srv/app/releases/r 1/app.jar.part' '/srv/app/releases/r 1/app.jar' || exit 1
printf '%s\\n' abababababababababababababababababababababababababababababababab > '/srv/app/releases/r 1/app.jar'.sha256
"
`);
  });
});

describe('pruneReleases', () => {
  test('whole script', () => {
    const cmd = pruneReleases(paths, 5, ['20261130T055400Z-abc1234']);
    expect(cmd.kind).toBe('prune');
    expect(cmd.title).toBe('keep the newest 5 releases');
    expect(cmd.quiet).toBeUndefined();
    expect(cmd.script).toMatchInlineSnapshot(`
"cd -- /srv/app/releases || exit 0
inuse=" 20261130T055400Z-abc1234 $(cat /srv/app/run/*.pid 2>/dev/null | awk '{ printf "%s ", $3 }')"
ls -1t | tail -n +6 | while IFS= read -r r; do
  case "$inuse" in *" $r "*) continue ;; esac
  rm -rf -- "$r" && echo "removed=$r"
done
"
`);
  });

  test('keep count, and the current id stripped to safe characters', () => {
    const base = pruneReleases(paths, 5, ['r1']).script;
    expect(pruneReleases(paths, 1, ["r 2$(id)'/.."]).script).toBe(
      replaced(base, {
        [`inuse=" r1 $(cat /srv/app/run/*.pid 2>/dev/null | awk '{ printf "%s ", $3 }')"`]: `inuse=" r2id.. $(cat /srv/app/run/*.pid 2>/dev/null | awk '{ printf "%s ", $3 }')"`,
        'ls -1t | tail -n +6 | while IFS= read -r r; do': 'ls -1t | tail -n +2 | while IFS= read -r r; do',
      }),
    );
  });

  test('parser: the removed folders, in order', () => {
    const parse = (stdout: string) => pruneReleases(paths, 5, ['r1']).parse(stdout);
    expect(parse('removed=r3\nnoise\nremoved=r 2\n removed=x\n')).toEqual(['r3', 'r 2']);
    expect(parse('')).toEqual([]);
    expect(parse('removed=\n')).toEqual(['']);
  });
});

describe('envFileContent', () => {
  test('one quoted export per variable', () => {
    expect(
      envFileContent([
        ['A', 'plain'],
        ['B', "it's $(x)"],
        ['C', ''],
      ]),
    ).toBe("export A=plain\nexport B='it'\\''s $(x)'\nexport C=''\n");
    expect(envFileContent([])).toBe('');
  });
});
