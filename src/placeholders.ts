// Per-colour values: `{port}`, `{port+N}`, `{port-N}` and `{color}` in java-opts, app-args, port-arg, env,
// secret-env, health-path and health-port, replaced for the port an app is launched on (or probed at). Checked
// once, for both colours, when the inputs are read; expanded values are plain strings, quoted like any other.

export interface ColourPorts {
  bluePort: number;
  greenPort: number;
}

/** What the problems list names as known. */
export const KNOWN_PLACEHOLDERS = '{port}, {port+N}, {port-N}, {color} (write {{name} for a literal {name})';

/**
 * `${` (the start of the app's own placeholder, Spring's `${DB_HOST}`: left to the app), `{{name}` (a literal
 * `{name}`), or a placeholder: a name, then +N or -N.
 */
const TOKEN = /\$\{|\{(\{)?([A-Za-z_][A-Za-z0-9_]*)([+-]\d+)?\}/g;

type Part = { text: string } | { name: string; offset: string; token: string };

function parts(template: string): Part[] {
  const out: Part[] = [];
  let at = 0;
  for (const m of template.matchAll(TOKEN)) {
    const [token, escaped, name, offset] = m as unknown as [
      string,
      string | undefined,
      string,
      string | undefined,
    ];
    if (m.index > at) out.push({ text: template.slice(at, m.index) });
    // An escaped one stands for itself, without its first brace; `${` is the app's.
    if (token === '${') out.push({ text: token });
    else if (escaped) out.push({ text: token.slice(1) });
    else out.push({ name, offset: offset ?? '', token });
    at = m.index + token.length;
  }
  if (at < template.length) out.push({ text: template.slice(at) });
  return out;
}

export function colourOf(port: number, ports: ColourPorts): 'blue' | 'green' {
  if (port === ports.bluePort) return 'blue';
  if (port === ports.greenPort) return 'green';
  throw new Error(
    `port ${port} is neither blue-port (${ports.bluePort}) nor green-port (${ports.greenPort})`,
  );
}

/** The template for an app on `port`; call only with a template that placeholderProblems accepted. */
export function expand(template: string, port: number, ports: ColourPorts): string {
  const colour = colourOf(port, ports);
  return parts(template)
    .map((p) => {
      if ('text' in p) return p.text;
      if (p.name === 'color') return colour;
      return String(port + Number(p.offset || '0'));
    })
    .join('');
}

export function expandAll(templates: readonly string[], port: number, ports: ColourPorts): string[] {
  return templates.map((t) => expand(t, port, ports));
}

/** Every problem of one template (unknown names, ports out of range), for the input `input`. */
export function placeholderProblems(input: string, template: string, ports: ColourPorts): string[] {
  const problems: string[] = [];
  for (const p of parts(template)) {
    if ('text' in p) continue;
    if (p.name === 'color' && p.offset === '') continue;
    if (p.name !== 'port') {
      problems.push(`${input}: unknown placeholder ${p.token}; known: ${KNOWN_PLACEHOLDERS}`);
      continue;
    }
    const blue = ports.bluePort + Number(p.offset || '0');
    const green = ports.greenPort + Number(p.offset || '0');
    if ([blue, green].some((port) => port < 1 || port > 65535)) {
      problems.push(
        `${input}: ${p.token} gives ${blue} for blue (port ${ports.bluePort}) and ${green} for green (port ${ports.greenPort}); a port must be from 1 to 65535`,
      );
    }
  }
  return problems;
}
