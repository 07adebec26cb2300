// The app's environment, the same for a detached launch and for the systemd launcher: PORT and SERVER_PORT,
// a UTF-8 locale, then the release's env file for this port (which wins over both).
import type { Layout } from '../layout.js';
import { quote } from '../shell.js';

/**
 * The host's UTF-8 locale: C.UTF-8 where `locale -a` lists it (any spelling), else en_US.UTF-8, else none
 * (CentOS 7 has no C.UTF-8; a locale the host lacks would make the JVM fall back to ASCII anyway).
 */
export function utf8LocaleSh(): string[] {
  return [
    `utf8=" $(locale -a 2>/dev/null | tr -d - | tr '[:upper:]' '[:lower:]' | tr '\\n' ' ')"`,
    'case "$utf8" in *" c.utf8 "*) utf8=C.UTF-8 ;; *" en_us.utf8 "*) utf8=en_US.UTF-8 ;; *) utf8= ;; esac',
  ];
}

/**
 * Lines that set up the app's environment before its exec. The env file is the release's file for this port
 * (`app-PORT.env`), or `app.env` of a release uploaded by an earlier version. LANG and LC_ALL are the host's
 * UTF-8 locale unless the env file sets one of them (an inherited one does not count: sshd or systemd may
 * pass LANG=C).
 */
export function appEnvSh(paths: Layout, releaseId: string, port: number): string[] {
  return [
    `export PORT=${port} SERVER_PORT=${port}`,
    ...utf8LocaleSh(),
    '[ -z "$utf8" ] || unset LANG LC_ALL',
    `env_file=${quote(paths.envFile(releaseId, port))}`,
    `[ -f "$env_file" ] || env_file=${quote(paths.legacyEnvFile(releaseId))}`,
    '# shellcheck source=/dev/null',
    'if [ -f "$env_file" ]; then set -a; . "$env_file"; set +a; fi',
    'if [ -n "$utf8" ] && [ -z "${LANG+x}${LC_ALL+x}" ]; then export LANG="$utf8" LC_ALL="$utf8"; fi',
  ];
}
