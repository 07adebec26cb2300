// The one executor over a Remote: a non-zero exit fails with the command's title and its output, a zero exit
// is parsed, a parse error names the command; the rest goes straight to the transport. A hand-written Remote
// stands in for the SSH connection.
import type { LockCommand } from '../src/commands/lock.js';
import type { RemoteCommand } from '../src/commands/types.js';
import {
  executor,
  RemoteCommandError,
  type ExecResult,
  type HeldCommand,
  type HttpResult,
  type Remote,
  type Script,
} from '../src/remote.js';

class FakeRemote implements Remote {
  readonly name = 'fake';
  readonly calls: unknown[][] = [];
  readonly held: HeldCommand = {
    waitFor: async () => 'held',
    release: async () => 0,
    output: () => ({ stdout: '', stderr: '' }),
  };
  constructor(private readonly answer: ExecResult = { code: 0, stdout: '', stderr: '' }) {}
  async exec(command: Script): Promise<ExecResult> {
    this.calls.push(['exec', command]);
    return this.answer;
  }
  async hold(command: Script): Promise<HeldCommand> {
    this.calls.push(['hold', command]);
    return this.held;
  }
  async upload(localPath: string, remotePath: string): Promise<void> {
    this.calls.push(['upload', localPath, remotePath]);
  }
  async writeFile(remotePath: string, content: string, mode: number): Promise<void> {
    this.calls.push(['writeFile', remotePath, content, mode]);
  }
  async httpGet(url: string, timeoutMs: number): Promise<HttpResult> {
    this.calls.push(['httpGet', url, timeoutMs]);
    return { status: 200, body: 'UP' };
  }
  async close(): Promise<void> {
    this.calls.push(['close']);
  }
}

/** A command whose parser records what it was given. */
function logTail(parse: (stdout: string) => string = (s) => s.toUpperCase()) {
  const parsed: string[] = [];
  const command: RemoteCommand<'logTail'> = {
    kind: 'logTail',
    title: 'read the log',
    script: 'tail app.log\n',
    parse: (stdout) => (parsed.push(stdout), parse(stdout)),
  };
  return { command, parsed };
}

test('a zero exit: the script runs once and its output is parsed', async () => {
  const remote = new FakeRemote({ code: 0, stdout: 'started\n', stderr: 'a warning' });
  const { command, parsed } = logTail();
  await expect(executor(remote).run(command)).resolves.toBe('STARTED\n');
  expect(remote.calls).toEqual([['exec', command]]);
  expect(parsed).toEqual(['started\n']);
});

test.each([
  [{ code: 3, stdout: 'out\n', stderr: '  disk full\n' }, 'read the log failed with exit code 3:\ndisk full'],
  [{ code: 1, stdout: '\nonly stdout\n', stderr: '' }, 'read the log failed with exit code 1:\nonly stdout'],
  [{ code: 127, stdout: ' \n', stderr: '' }, 'read the log failed with exit code 127'],
  [{ code: 2, stdout: 'out', stderr: '\n' }, 'read the log failed with exit code 2'],
])('a non-zero exit fails with the title and the trimmed output, unparsed: %j', async (result, message) => {
  const { command, parsed } = logTail();
  const error = await executor(new FakeRemote(result))
    .run(command)
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RemoteCommandError);
  expect(error).toMatchObject({ message, title: 'read the log', result });
  expect(parsed).toEqual([]);
});

test('output the parser rejects is an error naming the command, caused by the parser error', async () => {
  const cause = new Error('the remote script printed no pid=');
  const { command } = logTail(() => {
    throw cause;
  });
  const error = await executor(new FakeRemote())
    .run(command)
    .catch((e: unknown) => e);
  expect(error).toEqual(new Error('read the log: the remote script printed no pid='));
  expect((error as Error).cause).toBe(cause);
});

test('the lock shell, uploads, files and HTTP go straight to the transport', async () => {
  const remote = new FakeRemote();
  const host = executor(remote);
  const lock = { title: 'lock', script: 'flock\n' } as LockCommand;
  await expect(host.hold(lock)).resolves.toBe(remote.held);
  await expect(host.upload('/tmp/app.jar', '/opt/app/releases/r1/app.jar')).resolves.toBeUndefined();
  await expect(host.writeFile('/etc/nginx/x.inc', 'text', 0o644)).resolves.toBeUndefined();
  await expect(host.httpGet('http://127.0.0.1:8081/health', 5000)).resolves.toEqual({
    status: 200,
    body: 'UP',
  });
  expect(remote.calls).toEqual([
    ['hold', lock],
    ['upload', '/tmp/app.jar', '/opt/app/releases/r1/app.jar'],
    ['writeFile', '/etc/nginx/x.inc', 'text', 0o644],
    ['httpGet', 'http://127.0.0.1:8081/health', 5000],
  ]);
});
