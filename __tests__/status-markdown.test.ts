// The status job summary, asserted whole: the hosts × ports table, each host's nginx and lock, each host's last
// deploys; a host that could not be read shows why.
import { statusMarkdown, type HostStatus } from '../src/status.js';

const INC = '/etc/nginx/conf.d/service-url.inc';
const UP = '/etc/nginx/conf.d/bluegreen-service-url.conf';

const web1: HostStatus = {
  ports: [
    {
      port: 8080,
      color: 'blue',
      listening: true,
      app: { pid: 11, since: '2024-01-01T00:00:01Z', release: 'r1' },
      unit: { name: 'app@8080.service', scope: 'system', active: 'active', enabled: 'enabled', mainPid: 11 },
      health: { url: 'http://127.0.0.1:8080/h', state: 'healthy', answer: 'HTTP 200 UP' },
      routed: 'backup',
    },
    {
      port: 8081,
      color: 'green',
      listening: true,
      app: { pid: 22, since: '2024-01-02T00:00:00Z', release: 'r2' },
      unit: { name: 'app@8081.service', scope: 'system', error: 'Failed to connect to bus' },
      health: {
        url: 'http://127.0.0.1:8081/h',
        state: 'unhealthy',
        answer: 'HTTP 503 {"status":"DOWN"} | x',
      },
      routed: 'primary',
    },
  ],
  nginx: {
    include: INC,
    upstream: UP,
    port: 8081,
    backup: 8080,
    via: 'upstream',
    release: 'r2',
    listening: true,
  },
  lock: { held: true, holder: 'run 7 by alice' },
  releases: 2,
  deploys: [
    { id: 'b', mode: 'deploy', release: 'r2', result: 'running', outcome: 'running', started: 's2' },
    {
      id: 'a',
      mode: 'deploy',
      release: 'r1',
      port: 8080,
      result: 'failed',
      outcome: 'failed at Health check',
      actor: 'alice',
      commit: '0123456',
      url: 'https://github.com/o/r/actions/runs/1',
      started: 's1',
      ended: 'e1',
      error: 'not healthy\nat all',
    },
  ],
  notes: [],
};

const web2: HostStatus = {
  ports: [
    {
      port: 8080,
      color: 'blue',
      listening: true,
      foreign: { pid: 5, since: '2024-01-03T00:00:00Z', command: 'python3 -m http.server' },
      health: { url: 'http://127.0.0.1:8080/h', state: 'no answer', answer: 'connect ECONNREFUSED' },
    },
    { port: 8081, color: 'green', listening: true, foreign: {} },
  ],
  nginx: { include: INC, upstream: UP, problem: `${INC} does not exist` },
  lock: { held: false },
  releases: 0,
  deploys: [],
  notes: ['one', 'two'],
};

const web3: HostStatus = {
  ports: [
    {
      port: 8080,
      color: 'blue',
      listening: false,
      app: { pid: 3, since: '2024-01-04T00:00:00Z', release: 'r5' },
      routed: 'primary',
    },
    { port: 8081, color: 'green', listening: false },
  ],
  nginx: {
    include: INC,
    linksTo: '/etc/nginx/sites-available/app',
    upstream: UP,
    port: 8080,
    via: 'include',
    release: 'r5',
    listening: false,
  },
  lock: { held: false, problem: 'cannot compare' },
  releases: 1,
  deploys: [
    { id: 'c', mode: 'rollback', result: 'deployed', outcome: 'deployed', started: 's', error: 'ignored' },
  ],
  notes: [],
};

test('hosts × ports, then nginx and the lock, then the last deploys of each host', () => {
  expect(
    statusMarkdown([
      { host: 'web1', status: web1 },
      { host: 'web2', status: web2 },
      { host: 'web3', status: web3 },
    ]),
  ).toBe(
    [
      '## Blue/green status',
      '',
      '| Host | Port | Release | Since | Supervised | Health | nginx routes here |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| web1 | 8080 blue | r1 (pid 11) | 2024-01-01T00:00:01Z | app@8080.service: active, enabled | ✅ healthy | ↩️ backup (bake window) |',
      '| web1 | 8081 green | r2 (pid 22) | 2024-01-02T00:00:00Z | ❓ app@8081.service: Failed to connect to bus | ❌ unhealthy: HTTP 503 {"status":"DOWN"} \\| x | ✅ yes |',
      '| web2 | 8080 blue | ⚠️ not ours: pid 5 (python3 -m http.server) | 2024-01-03T00:00:00Z | no | ❌ no answer: connect ECONNREFUSED | – |',
      '| web2 | 8081 green | ⚠️ not ours (a process the deploy user cannot see) | – | no | – | – |',
      '| web3 | 8080 blue | r5 (pid 3, not listening) | 2024-01-04T00:00:00Z | no | – | ✅ yes |',
      '| web3 | 8081 green | – (nothing listens) | – | no | – | – |',
      '',
      '| Host | nginx routes to | Lock | Releases | Notes |',
      '| --- | --- | --- | --- | --- |',
      '| web1 | 8081 (r2), backup 8080 via the upstream group in /etc/nginx/conf.d/bluegreen-service-url.conf | 🔒 held by run 7 by alice | 2 | – |',
      '| web2 | ❓ /etc/nginx/conf.d/service-url.inc does not exist | free | 0 | one; two |',
      '| web3 | 8080 (r5) via /etc/nginx/conf.d/service-url.inc (a symlink to /etc/nginx/sites-available/app) ⚠️ nothing listens there | ❓ cannot compare | 1 | – |',
      '',
      '### Last deploys on web1',
      '',
      '| Run | Mode | Release | Port | Result | Actor | Commit | Started | Ended |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      '| b | deploy | r2 | – | running | – | – | s2 | – |',
      '| [a](https://github.com/o/r/actions/runs/1) | deploy | r1 | 8080 | failed at Health check: not healthy at all | alice | 0123456 | s1 | e1 |',
      '',
      '### Last deploys on web2',
      '',
      'None recorded.',
      '',
      '### Last deploys on web3',
      '',
      '| Run | Mode | Release | Port | Result | Actor | Commit | Started | Ended |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      '| c | rollback | – | – | deployed | – | – | s | – |',
      '',
    ].join('\n'),
  );
});

test('a host that could not be read shows its error; with no host read, the port table only', () => {
  expect(statusMarkdown([{ host: 'db|1', error: 'connect failed:\nrefused' }, { host: 'x' }])).toBe(
    [
      '## Blue/green status',
      '',
      '| Host | Port | Release | Since | Supervised | Health | nginx routes here |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      '| db\\|1 | – | ❌ connect failed: refused | – | – | – | – |',
      '| x | – | ❌ not read | – | – | – | – |',
      '',
    ].join('\n'),
  );
});
