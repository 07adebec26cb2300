// What one colour's app gets: its java command line, its environment, the URL of its health check, all from
// the template inputs with their placeholders replaced for its port (src/placeholders.ts).
import type { Settings } from './inputs.js';
import { expand, expandAll } from './placeholders.js';

type PortSettings = Pick<Settings, 'bluePort' | 'greenPort'>;

/** java-opts, port-arg and app-args for an app on `port`. */
export function launchWords(
  s: PortSettings & Pick<Settings, 'javaOpts' | 'portArg' | 'appArgs'>,
  port: number,
): { javaOpts: string[]; portArg: string[]; appArgs: string[] } {
  return {
    javaOpts: expandAll(s.javaOpts, port, s),
    portArg: expandAll(s.portArg, port, s),
    appArgs: expandAll(s.appArgs, port, s),
  };
}

/** env then secret-env, values for an app on `port` (what its app-PORT.env file exports). */
export function envFor(
  s: PortSettings & Pick<Settings, 'env' | 'secretEnv'>,
  port: number,
): [string, string][] {
  return [...s.env, ...s.secretEnv].map(([key, value]) => [key, expand(value, port, s)]);
}

/** Where the app on `port` answers its health check: health-port (default: `port` itself). */
export function healthPortFor(s: PortSettings & Pick<Settings, 'healthPort'>, port: number): number {
  return s.healthPort === undefined ? port : Number(expand(s.healthPort, port, s));
}

/** The app's own health check for the app on `port`: health-port (default: `port`) and health-path. */
export function healthUrl(
  s: PortSettings & Pick<Settings, 'healthPath' | 'healthPort'>,
  port: number,
): string {
  return `http://127.0.0.1:${healthPortFor(s, port)}${expand(s.healthPath, port, s)}`;
}

/** Every secret-env value as given and as each colour's app gets it: what the log must never show. */
export function secretValues(s: PortSettings & Pick<Settings, 'secretEnv'>): string[] {
  const values = s.secretEnv.flatMap(([, v]) => [v, expand(v, s.bluePort, s), expand(v, s.greenPort, s)]);
  return [...new Set(values)].filter((v) => v !== '');
}
