// The step state machine of one host's deploy, against a scripted fake host: which remote steps run, in
// which order, and what is undone when a step fails.
import { deployHost } from '../src/deploy.js';
import type { Settings } from '../src/inputs.js';
import { StepError, StepRunner } from '../src/steps.js';
import { blueLive, FakeHost, launched, quiet, settings, switched } from './support/fake-host.js';

async function deploy(host: FakeHost, extra: Partial<Settings> = {}, signal?: AbortSignal) {
  const steps = new StepRunner('h', quiet);
  const run = deployHost({
    settings: { ...settings, ...extra },
    remote: host,
    steps,
    log: quiet,
    lockHolder: 't',
    signal,
  });
  return { run, steps };
}

const commands = (host: FakeHost) => host.titles.filter((t) => !t.startsWith('GET') && !/alive/.test(t));

test('happy path: every step in order, old app retired, lock released', async () => {
  const host = new FakeHost([blueLive, launched, switched]);
  const { run, steps } = await deploy(host);
  await expect(run).resolves.toEqual({ activePort: 8081, previousPort: 8080, releaseId: 'r2' });
  expect(commands(host)).toEqual([
    'lock /opt/app/.deploy.lock',
    'detect live port (/etc/nginx/conf.d/service-url.inc)',
    'prepare release r2',
    'upload /opt/app/releases/r2/app.jar.part',
    'verify sha256 of /opt/app/releases/r2/app.jar',
    'launch r2 on port 8081',
    'switch nginx to port 8081',
    'wait for 2 old nginx workers',
    'stop pid 11 on port 8080',
    'keep the newest 5 releases',
  ]);
  expect(host.titles).toContain('GET http://127.0.0.1:8081/actuator/health');
  expect(steps.records.map((r) => [r.name, r.status])).toEqual([
    ['Lock', 'ok'],
    ['Detect ports', 'ok'],
    ['Upload', 'ok'],
    ['Free port 8081', 'skipped'],
    ['Launch on 8081', 'ok'],
    ['Health check', 'ok'],
    ['Switch nginx', 'ok'],
    ['Drain nginx', 'ok'],
    ['Stop old app', 'ok'],
  ]);
  expect(host.lockReleased).toBe(true);
});

test('a reused release skips the upload', async () => {
  const host = new FakeHost([
    blueLive,
    launched,
    switched,
    [/^prepare/, () => ({ stdout: 'reused=/opt/app/releases/r1\n' })],
  ]);
  await (
    await deploy(host)
  ).run;
  expect(host.titles.some((t) => t.startsWith('upload'))).toBe(false);
});

test('a crash before healthy: log shown, new app stopped, nginx untouched', async () => {
  const host = new FakeHost([blueLive, launched, switched, [/^last/, () => ({ stdout: 'Exception: boom' })]]);
  host.health = () => new Error('connect ECONNREFUSED');
  host.alive = false;
  const { run } = await deploy(host);
  const error = await run.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StepError);
  expect((error as StepError).step).toBe('Health check');
  expect((error as Error).message).toMatch(/exited before it became healthy/);
  expect(commands(host).slice(-2)).toEqual([
    'last 40 lines of /opt/app/releases/r2/app.log',
    'stop pid 22 on port 8081',
  ]);
  expect(host.titles.some((t) => t.startsWith('switch'))).toBe(false);
  expect(host.lockReleased).toBe(true);
});

test('never healthy: times out, new app stopped', async () => {
  const host = new FakeHost([blueLive, launched]);
  host.health = () => ({ status: 503, body: '{"status":"DOWN"}' });
  const { run } = await deploy(host, { healthTimeoutMs: 300 });
  await expect(run).rejects.toThrow(/was not healthy within 0.3 s; last answer: HTTP 503/);
  expect(commands(host).at(-1)).toBe('stop pid 22 on port 8081');
});

test('nginx -t fails: the script restored the include, the new app is stopped', async () => {
  const host = new FakeHost([
    blueLive,
    launched,
    [/^switch nginx to/, () => ({ code: 32, stderr: 'nginx: [emerg] bad' })],
  ]);
  const { run } = await deploy(host);
  await expect(run).rejects.toThrow(
    /Switch nginx failed on h: switch nginx to port 8081 failed with exit code 32:\nnginx: \[emerg\] bad/,
  );
  expect(commands(host).at(-1)).toBe('stop pid 22 on port 8081');
  expect(host.titles.some((t) => t.startsWith('drain'))).toBe(false);
});

test('broken behind nginx: switched back, new app drained and stopped, old one untouched', async () => {
  const host = new FakeHost([
    blueLive,
    launched,
    switched,
    [/^switch nginx back/, () => ({ stdout: 'workers_before=7:1 \nworkers_new=8:1 \n' })],
  ]);
  host.health = () => ({ status: 200, body: '{"status":"UP"}' });
  const original = host.httpGet.bind(host);
  host.httpGet = async (url: string) =>
    url.includes(':80/') ? { status: 500, body: 'oops' } : original(url);
  const { run } = await deploy(host, { verifyUrl: 'http://127.0.0.1:80/actuator/health' });
  await expect(run).rejects.toThrow(/not healthy through nginx \(HTTP 500 oops\); switched back/);
  expect(commands(host).slice(-2)).toEqual([
    'switch nginx back to port 8080',
    'wait for 1 old nginx workers, then stop pid 22 on port 8081',
  ]);
  expect(host.titles).not.toContain('stop pid 11 on port 8080');
});

test('a stale app of ours on the idle port is stopped before the launch', async () => {
  const host = new FakeHost([
    [
      /^detect/,
      () => ({
        stdout:
          'include=present\ninclude_port=8080\nlistening_8080=1\npid_8080=11 100 r1\nlistening_8081=1\npid_8081=9 50 r0\n',
      }),
    ],
    launched,
    switched,
  ]);
  await (
    await deploy(host)
  ).run;
  expect(commands(host).indexOf('stop pid 9 on port 8081')).toBe(
    commands(host).indexOf('launch r2 on port 8081') - 1,
  );
});

test('a stranger on the idle port: refused before anything is uploaded', async () => {
  const host = new FakeHost([
    [
      /^detect/,
      () => ({
        stdout:
          'include=present\ninclude_port=8080\nlistening_8080=1\nlistening_8081=1\nlistener_8081=4242 7 nc -l 8081\n',
      }),
    ],
  ]);
  const { run } = await deploy(host);
  await expect(run).rejects.toThrow(
    /Detect ports failed on h: idle port 8081 is held by pid 4242 \(nc -l 8081\)/,
  );
  expect(commands(host)).toEqual([
    'lock /opt/app/.deploy.lock',
    'detect live port (/etc/nginx/conf.d/service-url.inc)',
  ]);
  expect(host.lockReleased).toBe(true);
});

test('cancelled during the health check: new app stopped, lock released', async () => {
  const host = new FakeHost([blueLive, launched]);
  const abort = new AbortController();
  host.health = () => {
    abort.abort();
    return { status: 503, body: 'DOWN' };
  };
  const { run } = await deploy(host, {}, abort.signal);
  await expect(run).rejects.toThrow(/cancelled/);
  expect(commands(host).at(-1)).toBe('stop pid 22 on port 8081');
  expect(host.lockReleased).toBe(true);
});

test('first deploy: nothing to stop afterwards', async () => {
  const host = new FakeHost([
    [/^detect/, () => ({ stdout: 'include=missing\nlistening_8080=0\nlistening_8081=0\n' })],
    launched,
    switched,
  ]);
  const { run } = await deploy(host);
  await expect(run).resolves.toEqual({ activePort: 8080, previousPort: undefined, releaseId: 'r2' });
  expect(host.titles).toContain('wait for 2 old nginx workers');
  expect(host.titles.some((t) => t.startsWith('stop pid'))).toBe(false);
});

test('once nginx routes to the new app, a later failure never stops it', async () => {
  const host = new FakeHost([
    blueLive,
    launched,
    switched,
    [/^wait for/, () => ({ code: 255, stderr: 'connection lost' })],
  ]);
  const { run } = await deploy(host);
  await expect(run).rejects.toThrow(/Drain nginx failed on h/);
  expect(host.titles.some((t) => t.startsWith('stop pid 22'))).toBe(false);
  expect(host.lockReleased).toBe(true);
});
