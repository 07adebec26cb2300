// The app's environment (appEnvSh) as a real sh sets it, in the sandbox: PORT and SERVER_PORT, the host's
// UTF-8 locale as `locale -a` lists it, the env file of the port (else the release's old app.env), and the
// env file winning over all of them.
import { appEnvSh } from '../../src/commands/app-env.js';
import { layout } from '../../src/layout.js';
import { describeInSandbox, sandbox, type Sandbox } from '../support/sandbox.js';

/** Prints the variables the launch sets, `-` for an unset one. */
const SHOW = ['PORT', 'SERVER_PORT', 'LANG', 'LC_ALL', 'FROM']
  .map((v) => `printf '%s=%s\\n' ${v} "\${${v}-"-"}"`)
  .join('\n');

describeInSandbox('appEnvSh run by a real sh (sandbox)', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.cleanup());

  async function env(locales: string, inherited: Record<string, string> = {}): Promise<string> {
    box.fake('locale', `[ "$1" = -a ] && printf '%s' '${locales}'`);
    const script = [...appEnvSh(layout(box.path('app')), 'r1', 8081), SHOW].join('\n');
    const r = await box.run(script, { env: inherited });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  }

  test('no env file: PORT, SERVER_PORT and C.UTF-8 (any spelling), replacing an inherited locale', async () => {
    const want = 'PORT=8081\nSERVER_PORT=8081\nLANG=C.UTF-8\nLC_ALL=C.UTF-8\nFROM=-\n';
    expect(await env('C\nC.utf8\nPOSIX\nen_US.utf8\n', { LANG: 'POSIX' })).toBe(want);
    expect(await env('C\nC.UTF-8\nPOSIX\n')).toBe(want);
  });

  test('no C.UTF-8 (CentOS 7): en_US.UTF-8; neither: the locale is left as it was', async () => {
    expect(await env('C\nen_US.utf8\nPOSIX\n')).toBe(
      'PORT=8081\nSERVER_PORT=8081\nLANG=en_US.UTF-8\nLC_ALL=en_US.UTF-8\nFROM=-\n',
    );
    expect(await env('C\nde_DE.utf8\nPOSIX\n', { LANG: 'de_DE.ISO-8859-1' })).toBe(
      'PORT=8081\nSERVER_PORT=8081\nLANG=de_DE.ISO-8859-1\nLC_ALL=C\nFROM=-\n',
    );
    expect(await env('')).toBe('PORT=8081\nSERVER_PORT=8081\nLANG=-\nLC_ALL=C\nFROM=-\n');
  });

  test("the port's env file wins over app.env, and over PORT; a LANG of its own keeps LC_ALL unset", async () => {
    box.file('app/releases/r1/app.env', 'export FROM=old\n', 0o600);
    box.file(
      'app/releases/r1/app-8081.env',
      "export FROM='port 8081' PORT=9\nexport LANG=de_DE.UTF-8\n",
      0o600,
    );
    box.file('app/releases/r1/app-8080.env', 'export FROM=blue\n', 0o600);
    expect(await env('C.utf8\n', { LC_ALL: 'POSIX' })).toBe(
      'PORT=9\nSERVER_PORT=8081\nLANG=de_DE.UTF-8\nLC_ALL=-\nFROM=port 8081\n',
    );
  });

  test('a release uploaded by an earlier version: its app.env; an LC_ALL of its own keeps LANG unset', async () => {
    box.file('app/releases/r1/app.env', 'export FROM=old LC_ALL=en_US.UTF-8\n', 0o600);
    expect(await env('C.utf8\n')).toBe('PORT=8081\nSERVER_PORT=8081\nLANG=-\nLC_ALL=en_US.UTF-8\nFROM=old\n');
  });
});
