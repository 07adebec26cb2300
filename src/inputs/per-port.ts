// The inputs that differ per colour: port-arg and health-port, and the placeholders of every template input,
// checked for both colours before anything connects.
import { expand, placeholderProblems, type ColourPorts } from '../placeholders.js';
import type { Checker } from './checker.js';
import type { Settings } from './settings.js';

export const DEFAULT_PORT_ARG = '--server.port={port}';

/**
 * port-arg: the words after the jar that give the app its port. The runner passes '' for an input left unset
 * (and for one set to ''), so "no argument" is spelt `none`.
 */
export function readPortArg(c: Checker): string[] {
  const text = c.raw('port-arg');
  if (text.toLowerCase() === 'none') return [];
  if (text === '') return [DEFAULT_PORT_ARG];
  return c.words('port-arg');
}

/** health-port: undefined (the traffic port), or a template that gives a valid port for each colour. */
export function readHealthPort(c: Checker, ports: ColourPorts): string | undefined {
  const template = c.raw('health-port');
  if (template === '') return undefined;
  const problems = placeholderProblems('health-port', template, ports);
  if (problems.length > 0) {
    problems.forEach((p) => c.problems.push(p));
    return undefined;
  }
  const blue = expand(template, ports.bluePort, ports);
  const green = expand(template, ports.greenPort, ports);
  const valid = (p: string) => /^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
  if (!valid(blue) || !valid(green)) {
    c.fail(
      'health-port',
      `must be a port, or one relative to the app's port such as {port+1000}; got "${template}" (blue: "${blue}", green: "${green}")`,
    );
  } else if (blue === green) {
    c.fail(
      'health-port',
      `must differ between the colours (both apps run at once during a deploy), e.g. {port+1000}; got "${template}"`,
    );
  }
  return template;
}

type Templates = Pick<
  Settings,
  'javaOpts' | 'appArgs' | 'portArg' | 'env' | 'secretEnv' | 'healthPath' | 'bluePort' | 'greenPort'
>;

/** Every placeholder of every template input, for both colours; the problems go to the checker. */
export function checkPlaceholders(c: Checker, s: Templates, profiles: string): void {
  const check = (input: string, template: string) =>
    placeholderProblems(input, template, s).forEach((p) => c.problems.push(p));
  s.javaOpts.forEach((w) => check('java-opts', w));
  // spring-profiles went in front of the app-args.
  s.appArgs.forEach((w, i) => check(profiles !== '' && i === 0 ? 'spring-profiles' : 'app-args', w));
  s.portArg.forEach((w) => check('port-arg', w));
  s.env.forEach(([key, value]) => check(`env (${key})`, value));
  s.secretEnv.forEach(([key, value]) => check(`secret-env (${key})`, value));
  check('health-path', s.healthPath);
}
