// holdLock: whole script, its line parsers; the lock wait, timeout and watchdog run in lock.sandbox.test.ts.
import { listeningSh, nowMsSh, oursSh, pathSetupSh, stopGroupSh } from '../../src/commands/functions.js';
import { historyAppendSh } from '../../src/commands/history.js';
import { holdLock, LOCK_SETUP_EXIT, LOCK_TIMEOUT_EXIT, type LockCommand } from '../../src/commands/lock.js';
import { body, paths, replaced } from './helpers.js';

const spec = { holder: 'run 42 of acme/shop by alice', timeoutSeconds: 300, stopTimeoutMs: 20000 };

describe('holdLock script', () => {
  test('whole script', () => {
    const cmd = holdLock(paths, spec);
    expect(cmd.title).toBe('lock /srv/app/.deploy.lock');
    // history_append is pinned by history.test.ts.
    const blocks = [pathSetupSh(), oursSh(), listeningSh(), nowMsSh(), stopGroupSh(), historyAppendSh(paths)];
    expect(body(cmd.script, blocks)).toMatchInlineSnapshot(`
"mkdir -p -- /srv/app/releases /srv/app/run || { echo 'cannot create /srv/app: create it on the host and make the deploy user its owner' >&2; exit 70; }
command exec 9>>/srv/app/.deploy.lock || exit 70
if ! flock -n 9; then
  echo "waiting=$(tr '\\n' ' ' < /srv/app/.deploy.lock.info 2>/dev/null)"
  flock -w 300 9 || { echo "holder=$(tr '\\n' ' ' < /srv/app/.deploy.lock.info 2>/dev/null)"; exit 75; }
fi
printf '%s\\n' 'run 42 of acme/shop by alice' > /srv/app/.deploy.lock.info
echo locked
cat >/dev/null
trap '' PIPE
if mv -f -- /srv/app/run/pending /srv/app/run/pending.stop 2>/dev/null; then
  if read -r pid start port < /srv/app/run/pending.stop; then
    echo "watchdog: stopping half-started app $pid on port $port" >&2
    stop_group "$pid" "$start" 20000 >/dev/null
    rm -f -- /srv/app/run/"$port".pid
  fi
  rm -f -- /srv/app/run/pending.stop
fi
if [ -f /srv/app/run/history.open ] && read -r _id < /srv/app/run/history.open; then
  history_append "$(printf '{"v":1,"event":"end","id":"%s","ended":"%s","result":"interrupted","error":"the deploy'\\''s SSH session ended before it finished (run cancelled, runner lost or connection dropped)"}' "$_id" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" && rm -f -- /srv/app/run/history.open
fi
: > /srv/app/.deploy.lock.info
"
`);
  });

  test('the lock timeout and the watchdog stop timeout are the given ones', () => {
    expect(holdLock(paths, { ...spec, timeoutSeconds: 5, stopTimeoutMs: 750 }).script).toBe(
      replaced(holdLock(paths, spec).script, {
        [`  flock -w 300 9 || { echo "holder=$(tr '\\n' ' ' < /srv/app/.deploy.lock.info 2>/dev/null)"; exit ${LOCK_TIMEOUT_EXIT}; }`]: `  flock -w 5 9 || { echo "holder=$(tr '\\n' ' ' < /srv/app/.deploy.lock.info 2>/dev/null)"; exit ${LOCK_TIMEOUT_EXIT}; }`,
        '    stop_group "$pid" "$start" 20000 >/dev/null': '    stop_group "$pid" "$start" 750 >/dev/null',
      }),
    );
  });

  test('a hostile holder is one quoted word', () => {
    expect(holdLock(paths, { ...spec, holder: "$(id) 'x'" }).script).toBe(
      replaced(holdLock(paths, spec).script, {
        "printf '%s\\n' 'run 42 of acme/shop by alice' > /srv/app/.deploy.lock.info":
          "printf '%s\\n' '$(id) '\\''x'\\''' > /srv/app/.deploy.lock.info",
      }),
    );
  });

  test('exit codes', () => {
    expect(LOCK_TIMEOUT_EXIT).toBe(75);
    expect(LOCK_SETUP_EXIT).toBe(70);
  });
});

describe('holdLock line parsers', () => {
  let cmd: LockCommand;
  beforeEach(() => {
    cmd = holdLock(paths, spec);
  });

  test('held and waiting lines', () => {
    expect(cmd.heldLine.test('locked')).toBe(true);
    expect(cmd.heldLine.test('locked ')).toBe(false);
    expect(cmd.heldLine.test('not locked')).toBe(false);
    expect(cmd.waitingLine.test('waiting=run 1')).toBe(true);
    expect(cmd.waitingLine.test('waiting=')).toBe(true);
    expect(cmd.waitingLine.test('still waiting=x')).toBe(false);
  });

  test('events', () => {
    expect(cmd.event('locked')).toEqual({ held: true });
    expect(cmd.event('waiting=run 7 by bob ')).toEqual({ held: false, holder: 'run 7 by bob' });
    expect(cmd.event('waiting=')).toEqual({ held: false, holder: '' });
    expect(cmd.event('waiting=a=b')).toEqual({ held: false, holder: 'a=b' });
  });

  test('holder after a timeout', () => {
    expect(cmd.holder('waiting=run 7 \nholder=run 7 by bob \n')).toBe('run 7 by bob');
    expect(cmd.holder('holder=\n')).toBe('');
    expect(cmd.holder('holder=x=y\n')).toBe('x=y');
    expect(cmd.holder('waiting=run 7\n')).toBeUndefined();
    expect(cmd.holder(' holder=x\n')).toBeUndefined();
    expect(cmd.holder('')).toBeUndefined();
  });
});
