// The framing of every remote command: what a login shell prints around it never reaches the parsers. The
// wrapped command runs under real shells in the sandbox, each printing a banner the way login shells do.
import { frame, killFramed } from '../src/ssh/framing.js';
import { SCENARIO, sandbox, type Sandbox } from './support/sandbox.js';

let box: Sandbox;
beforeAll(() => {
  box = sandbox();
});
afterAll(() => box.cleanup());

const SCRIPT = "echo out1; echo err1 >&2; printf 'no newline at the end'; exit 7";

/** Runs the framed command the way sshd does: `LOGIN_SHELL -c COMMAND`, after the banner. */
async function viaLoginShell(shell: string, banner: string) {
  const framed = frame(SCRIPT, '0123abcd');
  const run = await box.run(`${banner}\n${shell} -c "$CMD"`, { env: { CMD: framed.command } });
  return { run, stdout: framed.unframe(run.stdout), stderr: framed.unframe(run.stderr) };
}

test.each([
  ['no banner', 'sh', ':'],
  ['a banner with a newline on stdout', 'sh', 'echo "Welcome to host"'],
  ['a banner without a newline on stdout', 'sh', "printf 'Welcome'"],
  ['a banner without a newline on stderr', 'sh', "printf 'Last login' >&2"],
  ['banners on both, bash as login shell', 'bash', "printf 'motd'; printf 'warn' >&2"],
  ['set -u and set -v in the login shell', 'bash', "set -uv; printf 'x'"],
])('%s: the script output and exit code come through exactly', async (_what, shell, banner) => {
  const { run, stdout, stderr } = await viaLoginShell(shell, banner);
  expect(run.code).toBe(7);
  expect(stdout).toBe('out1\nno newline at the end');
  expect(stderr).toBe('err1\n');
});

test('a command that never started (the login shell failed): undefined, not an empty output', () => {
  const framed = frame(SCRIPT, 'n');
  expect(framed.unframe('This account is currently not available.\n')).toBeUndefined();
  expect(framed.linesSoFar('Welcome\n')).toEqual([]);
});

test('the markers are built at run time: the command text never contains them', () => {
  const framed = frame(SCRIPT, 'feed');
  expect(framed.command).not.toContain('bgd-begin-feed');
  expect(framed.command).not.toContain('bgd-end-feed');
  expect(framed.command).toBe(
    `sh -c 'printf "\\n%s-%s\\n" bgd-begin "$1"\nprintf "\\n%s-%s\\n" bgd-begin "$1" >&2\nsh -c "$2"\nrc=$?\nprintf "\\n%s-%s\\n" bgd-end "$1"\nprintf "\\n%s-%s\\n" bgd-end "$1" >&2\nexit "$rc"' bgd feed 'echo out1; echo err1 >&2; printf '\\''no newline at the end'\\''; exit 7'`,
  );
});

test('lines so far: complete lines of the script only, while it still runs', () => {
  const framed = frame('x', 'n');
  expect(framed.linesSoFar('motd\nbgd-begin-n\nwaiting=a\nlock')).toEqual(['waiting=a']);
  expect(framed.linesSoFar('\nbgd-begin-n\nwaiting=a\nlocked\n')).toEqual(['waiting=a', 'locked']);
  expect(framed.linesSoFar('\nbgd-begin-n\n')).toEqual([]);
});

test('a script that printed nothing: an empty output, not the end marker', () => {
  expect(frame('true', 'n').unframe('motd\nbgd-begin-n\n\nbgd-end-n\n')).toBe('');
});

test('a missing end marker (the session was cut): everything after the begin marker', () => {
  expect(frame('x', 'n').unframe('\nbgd-begin-n\npartial')).toBe('partial');
});

test('a random nonce per command', () => {
  expect(frame('x').command).not.toBe(frame('x').command);
});

test('killFramed: the run past its deadline dies with its children; another group and a detached app live on', async () => {
  const framed = frame(
    'sleep 41 & echo $! > a.pid; setsid sleep 44 & echo $! > d.pid; sleep 42 & echo $! > b.pid; wait',
  );
  const s = box.start(
    [
      SCENARIO,
      // As sshd runs a session: the login shell leads its own session and process group.
      'setsid sh -c "$CMD" >/dev/null 2>&1 &',
      'sleep 43 & other=$!',
      'while [ ! -s b.pid ]; do sleep 0.01; done',
      'a=$(cat a.pid) b=$(cat b.pid) d=$(cat d.pid)',
      'echo ready',
      'run_given kill',
      'wait_gone "$a" 3000 && echo a=gone',
      'wait_gone "$b" 3000 && echo b=gone',
      'gone "$other" || echo other=alive',
      'gone "$d" || echo detached=alive',
      'kill "$other" "$d"',
    ].join('\n'),
    { env: { CMD: framed.command } },
  );
  await s.waitFor(/^ready$/);
  box.give('kill', killFramed(framed.nonce));
  const r = await s.done;
  expect(r.stdout.split('\n').filter((l) => l.includes('='))).toEqual([
    'a=gone',
    'b=gone',
    'other=alive',
    'detached=alive',
  ]);
});
