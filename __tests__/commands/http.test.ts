// httpGetOnHost: whole script, its curl timeout rounding, and the parser.
// Equivalent StrykerJS survivors (src/commands/http.ts, parseHttpOnHost):
// - `Number(stdout.slice(cut + 1).trim())` without .trim(): Number() ignores surrounding whitespace itself.
// - `cut < 0` as `cut <= 0`: at cut = 0 the body is stdout.slice(0, 0), '' either way.
import { httpGetOnHost, NO_CURL_EXIT, parseHttpOnHost } from '../../src/commands/http.js';
import { replaced } from './helpers.js';

describe('httpGetOnHost', () => {
  test('whole script', () => {
    const cmd = httpGetOnHost('http://127.0.0.1:8081/actuator/health', 4500);
    expect(cmd.kind).toBe('httpOnHost');
    expect(cmd.title).toBe('GET http://127.0.0.1:8081/actuator/health on the host');
    expect(cmd.quiet).toBe(true);
    expect(cmd.script).toMatchInlineSnapshot(`
"command -v curl >/dev/null 2>&1 || { echo "TCP forwarding is disabled on the host and curl is not installed: allow one of them" >&2; exit 127; }
exec curl -sS --max-time 5 -w '\\n%{http_code}' -- http://127.0.0.1:8081/actuator/health
"
`);
    expect(cmd.parse).toBe(parseHttpOnHost);
  });

  test('the timeout is whole seconds, at least 1', () => {
    const base = httpGetOnHost('http://h/', 4500).script;
    const line = (s: number) => `exec curl -sS --max-time ${s} -w '\\n%{http_code}' -- http://h/`;
    expect(httpGetOnHost('http://h/', 5000).script).toBe(base);
    expect(httpGetOnHost('http://h/', 5001).script).toBe(replaced(base, { [line(5)]: line(6) }));
    expect(httpGetOnHost('http://h/', 1).script).toBe(replaced(base, { [line(5)]: line(1) }));
    expect(httpGetOnHost('http://h/', 0).script).toBe(replaced(base, { [line(5)]: line(1) }));
  });

  test('a hostile URL stays one quoted word', () => {
    const base = httpGetOnHost('http://h/', 1000).script;
    expect(httpGetOnHost("http://h/?x=$(id)'", 1000).script).toBe(
      replaced(base, {
        "exec curl -sS --max-time 1 -w '\\n%{http_code}' -- http://h/":
          "exec curl -sS --max-time 1 -w '\\n%{http_code}' -- 'http://h/?x=$(id)'\\'''",
      }),
    );
  });

  test('NO_CURL_EXIT is the shell’s command-not-found code', () => {
    expect(NO_CURL_EXIT).toBe(127);
  });

  test('parser: the status is the last line, the body everything before', () => {
    expect(parseHttpOnHost('{"status":"UP"}\n200')).toEqual({ status: 200, body: '{"status":"UP"}' });
    expect(parseHttpOnHost('a\nb\n503')).toEqual({ status: 503, body: 'a\nb' });
    expect(parseHttpOnHost('\n204')).toEqual({ status: 204, body: '' });
    expect(parseHttpOnHost('body\n\n 200 \n'.trimEnd())).toEqual({ status: 200, body: 'body\n' });
    expect(parseHttpOnHost('200')).toEqual({ status: 200, body: '' });
  });

  test('parser: no status is NaN, never a passing code', () => {
    expect(parseHttpOnHost('')).toEqual({ status: 0, body: '' });
    expect(parseHttpOnHost('body\nnot-a-code').status).toBeNaN();
  });
});
