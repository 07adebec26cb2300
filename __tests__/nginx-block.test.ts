// The user's own upstream block: only the server entries change (the live one's port; a backup copy during the
// bake window, removed after it), every other byte is kept; what cannot be read is a problem in words.
import { blockText, maskComments, parseBlock, type UpstreamBlock } from '../src/nginx-block.js';

const PORTS = [8080, 8081];

/** A conf file as users have it: a comment, zone, keepalive, a server entry with parameters, a server block. */
const USER = `# app upstream (hand-written)
upstream app_backend {
    zone app_backend 64k;
    server 127.0.0.1:8080 max_fails=3 fail_timeout=10s weight=5;   # the live one
    keepalive 32;
}

server {
    listen 80;
    location / { proxy_pass http://app_backend; proxy_next_upstream error timeout; }
}
`;

function block(text: string): UpstreamBlock {
  const read = parseBlock(text, PORTS);
  if (!read || 'problem' in read) throw new Error(`not parsed: ${JSON.stringify(read)}`);
  return read.block;
}

test('the block: its name, the live entry with its parameters and where its port is', () => {
  const b = block(USER);
  const at = USER.indexOf('server 127.0.0.1:8080');
  expect(b).toEqual({
    name: 'app_backend',
    primary: {
      start: at,
      end: USER.indexOf(';', at) + 1,
      host: '127.0.0.1',
      port: 8080,
      portStart: at + 'server 127.0.0.1:'.length,
      params: ['max_fails=3', 'fail_timeout=10s', 'weight=5'],
      backup: false,
    },
  });
});

test('a switch without bake window: only the port of the live entry changes', () => {
  expect(blockText(USER, block(USER), { primary: 8081 })).toBe(
    USER.replace('server 127.0.0.1:8080 max', 'server 127.0.0.1:8081 max'),
  );
});

test('the bake window: the old entry follows the new one with backup added, and goes again after it', () => {
  const during = blockText(USER, block(USER), { primary: 8081, backup: 8080 });
  expect(during).toBe(`# app upstream (hand-written)
upstream app_backend {
    zone app_backend 64k;
    server 127.0.0.1:8081 max_fails=3 fail_timeout=10s weight=5;   # the live one
    server 127.0.0.1:8080 max_fails=3 fail_timeout=10s weight=5 backup;
    keepalive 32;
}

server {
    listen 80;
    location / { proxy_pass http://app_backend; proxy_next_upstream error timeout; }
}
`);
  // Read back (a runner lost in the window): primary and backup; the end of the window removes the copy.
  const b = block(during);
  expect([b.primary.port, b.backup?.port, b.backup?.params]).toEqual([
    8081,
    8080,
    ['max_fails=3', 'fail_timeout=10s', 'weight=5'],
  ]);
  expect(blockText(during, b, { primary: 8081 })).toBe(
    USER.replace('server 127.0.0.1:8080 max', 'server 127.0.0.1:8081 max'),
  );
  // A new switch from the window's state moves both entries.
  expect(blockText(during, b, { primary: 8080, backup: 8081 })).toBe(
    during
      .replace('1:8081 max', '1:PRIMARY max')
      .replace('1:8080 max', '1:8081 max')
      .replace('PRIMARY', '8080'),
  );
});

test.each([
  [
    'CRLF lines and a tab',
    'upstream a {\r\n\tserver localhost:8081;\r\n}\r\n',
    'upstream a {\r\n\tserver localhost:8080;\r\n\tserver localhost:8081 backup;\r\n}\r\n',
  ],
  [
    'IPv6, no newline at the end',
    'upstream a { server [::1]:8081; }',
    'upstream a { server [::1]:8080; server [::1]:8081 backup; }',
  ],
  [
    'two statements on the line',
    'upstream a {\n  server 127.0.0.1:8081; keepalive 4;\n}\n',
    'upstream a {\n  server 127.0.0.1:8080; server 127.0.0.1:8081 backup; keepalive 4;\n}\n',
  ],
  [
    'a statement over two lines',
    'upstream a {\n  server 127.0.0.1:8081\n      max_fails=2;\n}\n',
    'upstream a {\n  server 127.0.0.1:8080\n      max_fails=2;\n  server 127.0.0.1:8081 max_fails=2 backup;\n}\n',
  ],
])('%s: the backup added, and removed to the exact bytes', (_what, text, during) => {
  const b = block(text);
  expect(blockText(text, b, { primary: 8080, backup: 8081 })).toBe(during);
  const back = blockText(during, block(during), { primary: 8080 });
  expect(back).toBe(blockText(text, b, { primary: 8080 }));
  expect(blockText(back, block(back), { primary: 8081 })).toBe(text);
});

test('a backup the user wrote, on its own line with a comment: the line goes when no backup is wanted', () => {
  const text =
    'upstream a {\n  server 127.0.0.1:8080;\n  server 127.0.0.1:8081 backup; # warm\n  keepalive 2;\n}\n';
  expect(blockText(text, block(text), { primary: 8081 })).toBe(
    'upstream a {\n  server 127.0.0.1:8081;\n  keepalive 2;\n}\n',
  );
});

test('the balancing method that allows no backup is named', () => {
  for (const method of ['hash $remote_addr consistent', 'ip_hash', 'random two']) {
    const text = `upstream a {\n  ${method};\n  server 127.0.0.1:8080;\n}\n`;
    expect(block(text).noBackup).toBe(method.split(' ')[0]);
  }
  expect(block('upstream a {\n  least_conn;\n  server 127.0.0.1:8080;\n}\n').noBackup).toBeUndefined();
});

test('comments and quotes: a commented-out block or entry is not read, a # in quotes is no comment', () => {
  expect(maskComments('a "#b" c # d\ne')).toBe('a "#b" c    \ne');
  expect(maskComments("x '#' # y")).toBe("x '#'    ");
  expect(
    parseBlock('# upstream a { server 127.0.0.1:8080; }\nset $service_url http://127.0.0.1:8080;\n', PORTS),
  ).toBeUndefined();
  const text = 'upstream a {\n  # server 127.0.0.1:9999;\n  server 127.0.0.1:8080;\n}\n';
  expect(block(text).primary.port).toBe(8080);
  expect(parseBlock('proxy_next_upstream error;\n', PORTS)).toBeUndefined();
});

test.each([
  [
    'two blocks',
    'upstream a { server 127.0.0.1:8080; }\nupstream b { server 127.0.0.1:8081; }\n',
    'has 2 upstream blocks (a, b)',
  ],
  [
    'another host',
    'upstream a { server 10.0.0.5:8080; }',
    'upstream a has "server 10.0.0.5:8080", which is not on this host (127.0.0.1, localhost or [::1])',
  ],
  [
    'a name',
    'upstream a { server app.internal:8080 max_fails=1; }',
    'upstream a has "server app.internal:8080 max_fails=1", which is not on this host (127.0.0.1, localhost or [::1])',
  ],
  [
    'another port',
    'upstream a { server 127.0.0.1:9000; }',
    'upstream a has "server 127.0.0.1:9000", on port 9000: neither blue-port nor green-port (8080, 8081)',
  ],
  [
    'a unix socket',
    'upstream a { server unix:/run/app.sock; }',
    'upstream a has a server entry the action cannot read: "server unix:/run/app.sock"',
  ],
  [
    'no port',
    'upstream a { server 127.0.0.1; }',
    'upstream a has a server entry the action cannot read: "server 127.0.0.1"',
  ],
  [
    'a quoted parameter',
    'upstream a { server 127.0.0.1:8080 "weight=2"; }',
    'upstream a has a server entry the action cannot read: "server 127.0.0.1:8080 "weight=2""',
  ],
  [
    'no server',
    'upstream a { keepalive 2; }',
    'upstream a has 0 server entries without backup: the action routes to exactly one (one of blue-port and green-port, and during the bake window the other as backup)',
  ],
  [
    'both primary',
    'upstream a { server 127.0.0.1:8080; server 127.0.0.1:8081; }',
    'upstream a has 2 server entries without backup: the action routes to exactly one (one of blue-port and green-port, and during the bake window the other as backup)',
  ],
  [
    'two backups',
    'upstream a { server 127.0.0.1:8080; server 127.0.0.1:8081 backup; server localhost:8081 backup; }',
    'upstream a has 2 backup server entries: the action keeps at most one',
  ],
  [
    'backup on the same port',
    'upstream a { server 127.0.0.1:8080; server localhost:8080 backup; }',
    'upstream a has its backup on the same port as its server',
  ],
  [
    'nested braces',
    'upstream a { server 127.0.0.1:8080; if ($x) { } }',
    'upstream a is not a block the action can read (nested or unclosed braces)',
  ],
  [
    'unclosed',
    'upstream a { server 127.0.0.1:8080;',
    'upstream a is not a block the action can read (nested or unclosed braces)',
  ],
])('%s: a problem in words', (_what, text, problem) => {
  expect(parseBlock(text, PORTS)).toEqual({ problem });
});
