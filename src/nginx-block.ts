// The user's own upstream group in the include (or conf file): `upstream NAME { server 127.0.0.1:PORT …; }`,
// used as `proxy_pass http://NAME;`. A switch changes only the port of the live entry (its parameters kept);
// during the bake window a copy of the old entry follows it with `backup` added, and is removed again after
// the window. Every other byte (comments, keepalive, zone, other blocks in the file) stays as it is.

/** One `server ADDRESS params…;` entry of the block, with where its bytes are in the text. */
export interface BlockServer {
  /** The statement: from `server` to its `;` (exclusive end). */
  start: number;
  end: number;
  /** As written: 127.0.0.1, localhost or [::1]. */
  host: string;
  port: number;
  /** Where the port's digits are. */
  portStart: number;
  /** Every parameter but `backup`, as written (max_fails=3, weight=2, …). */
  params: string[];
  backup: boolean;
}

export interface UpstreamBlock {
  name: string;
  primary: BlockServer;
  backup?: BlockServer;
  /** hash, ip_hash or random: nginx allows no `backup` server with this balancing method. */
  noBackup?: string;
}

export type BlockRead = { block: UpstreamBlock } | { problem: string } | undefined;

const LOOPBACK = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/;
const PARAM = /^[a-z_]+(=[^\s"'{};]+)?$/;
const NO_BACKUP_METHODS = ['hash', 'ip_hash', 'random'];

/** The text with every comment blanked to spaces (same length), so that offsets stay those of the text. */
export function maskComments(text: string): string {
  let out = '';
  let quote = '';
  let comment = false;
  for (const ch of text) {
    if (comment) {
      comment = ch !== '\n';
      out += comment ? ' '.repeat(ch.length) : ch;
    } else if (quote) {
      if (ch === quote) quote = '';
      out += ch;
    } else if (ch === '#') {
      comment = true;
      out += ' ';
    } else {
      if (ch === '"' || ch === "'") quote = ch;
      out += ch;
    }
  }
  return out;
}

/** How many `upstream NAME {` blocks the text has, and the first one's name and body offsets. */
function findBlocks(masked: string): { name: string; open: number }[] {
  const found: { name: string; open: number }[] = [];
  for (const m of masked.matchAll(/(^|[\s;{}])upstream\s+([^\s{};]+)\s*\{/g)) {
    found.push({ name: m[2], open: m.index + m[0].length });
  }
  return found;
}

/** The statements of the body between `open` and `close`: their words, and where each one's `;` is. */
function statements(masked: string, open: number, close: number): Statement[] {
  const out: Statement[] = [];
  let from = open;
  for (let semi = masked.indexOf(';', from); semi !== -1 && semi < close; semi = masked.indexOf(';', from)) {
    const words = [...masked.slice(from, semi).matchAll(/\S+/g)].map((m) => ({
      text: m[0],
      at: from + m.index,
    }));
    if (words.length > 0) out.push({ start: words[0].at, semi, words });
    from = semi + 1;
  }
  return out;
}

interface Word {
  text: string;
  at: number;
}

interface Statement {
  start: number;
  semi: number;
  words: Word[];
}

type ServerRead = { server: BlockServer } | { problem: string };

function server(statement: Statement, ports: readonly number[]): ServerRead {
  const address = statement.words.at(1);
  const rest = statement.words.slice(2);
  const shown = `"${statement.words.map((w) => w.text).join(' ')}"`;
  const m = address && LOOPBACK.exec(address.text);
  if (!address || !m || !rest.every((w) => PARAM.test(w.text))) {
    if (address && HOST_PORT.test(address.text) && !m) {
      return { problem: `has ${shown}, which is not on this host (127.0.0.1, localhost or [::1])` };
    }
    return { problem: `has a server entry the action cannot read: ${shown}` };
  }
  const port = Number(m[2]);
  if (!ports.includes(port)) {
    return {
      problem: `has ${shown}, on port ${port}: neither blue-port nor green-port (${ports.join(', ')})`,
    };
  }
  const params = rest.map((w) => w.text);
  return {
    server: {
      start: statement.start,
      end: statement.semi + 1,
      host: m[1],
      port,
      portStart: address.at + m[1].length + 1,
      params: params.filter((p) => p !== 'backup'),
      backup: params.includes('backup'),
    },
  };
}

/** The one primary entry and at most one backup, on different ports. */
function roles(servers: BlockServer[]): { primary: BlockServer; backup?: BlockServer } | string {
  const primaries = servers.filter((s) => !s.backup);
  const backups = servers.filter((s) => s.backup);
  if (primaries.length !== 1) {
    return `has ${primaries.length} server entries without backup: the action routes to exactly one (one of blue-port and green-port, and during the bake window the other as backup)`;
  }
  if (backups.length > 1) return `has ${backups.length} backup server entries: the action keeps at most one`;
  if (backups[0]?.port === primaries[0].port) return 'has its backup on the same port as its server';
  return backups.length === 1 ? { primary: primaries[0], backup: backups[0] } : { primary: primaries[0] };
}

/**
 * The one upstream block of the text, its servers on `ports` (blue, green) on this host; undefined when the text
 * has none. Anything else is a problem in words (more blocks, other hosts or ports, entries it cannot read).
 */
export function parseBlock(text: string, ports: readonly number[]): BlockRead {
  const masked = maskComments(text);
  const blocks = findBlocks(masked);
  if (blocks.length === 0) return undefined;
  if (blocks.length > 1) {
    return { problem: `has ${blocks.length} upstream blocks (${blocks.map((b) => b.name).join(', ')})` };
  }
  const [{ name, open }] = blocks;
  const close = masked.indexOf('}', open);
  const inner = masked.indexOf('{', open);
  if (close === -1 || (inner !== -1 && inner < close)) {
    return { problem: `upstream ${name} is not a block the action can read (nested or unclosed braces)` };
  }
  const servers: BlockServer[] = [];
  let noBackup: string | undefined;
  for (const st of statements(masked, open, close)) {
    const directive = st.words[0].text;
    if (NO_BACKUP_METHODS.includes(directive)) noBackup = directive;
    if (directive !== 'server') continue;
    const read = server(st, ports);
    if ('problem' in read) return { problem: `upstream ${name} ${read.problem}` };
    servers.push(read.server);
  }
  const r = roles(servers);
  if (typeof r === 'string') return { problem: `upstream ${name} ${r}` };
  return { block: { name, ...r, ...(noBackup === undefined ? {} : { noBackup }) } };
}

/** Where the line holding offset `at` ends (before its \r\n or \n), and that line break. */
function lineEnd(text: string, at: number): { eol: number; nl: string } {
  const n = text.indexOf('\n', at);
  if (n === -1) return { eol: text.length, nl: '\n' };
  return text[n - 1] === '\r' ? { eol: n - 1, nl: '\r\n' } : { eol: n, nl: '\n' };
}

function entry(host: string, port: number, params: string[], backup: boolean): string {
  return ['server', `${host}:${port}`, ...params, ...(backup ? ['backup'] : [])].join(' ') + ';';
}

interface Edit {
  from: number;
  to: number;
  text: string;
}

/** The old entry copied after the primary's line (its indentation), with `backup` added. */
function insertBackup(text: string, masked: string, primary: BlockServer, port: number): Edit {
  const copy = entry(primary.host, port, primary.params, true);
  const { eol, nl } = lineEnd(text, primary.end);
  const lineStart = text.lastIndexOf('\n', primary.start - 1) + 1;
  const indent = /^[ \t]*/.exec(text.slice(lineStart, primary.start))?.[0] ?? '';
  // Alone on its line (a comment may follow): a line of its own; else right after it.
  if (masked.slice(primary.end, eol).trim() === '')
    return { from: eol, to: eol, text: `${nl}${indent}${copy}` };
  return { from: primary.end, to: primary.end, text: ` ${copy}` };
}

/** The backup entry removed: its whole line when it is alone on it, else the statement itself. */
function removeBackup(text: string, masked: string, backup: BlockServer): Edit {
  const lineStart = text.lastIndexOf('\n', backup.start - 1) + 1;
  const { eol } = lineEnd(text, backup.end);
  const alone =
    masked.slice(lineStart, backup.start).trim() === '' && masked.slice(backup.end, eol).trim() === '';
  if (alone && lineStart > 0) {
    const cr = text[lineStart - 2] === '\r' ? 1 : 0;
    return { from: lineStart - 1 - cr, to: eol, text: '' };
  }
  const space = text[backup.start - 1] === ' ' ? 1 : 0;
  return { from: backup.start - space, to: backup.end, text: '' };
}

/** The same text routed to `servers`: the primary's port, and the backup entry added, moved or removed. */
export function blockText(
  text: string,
  block: UpstreamBlock,
  servers: { primary: number; backup?: number },
): string {
  const masked = maskComments(text);
  const digits = (s: BlockServer, port: number): Edit => ({
    from: s.portStart,
    to: s.portStart + String(s.port).length,
    text: String(port),
  });
  const edits = [digits(block.primary, servers.primary)];
  if (block.backup && servers.backup !== undefined) edits.push(digits(block.backup, servers.backup));
  else if (block.backup) edits.push(removeBackup(text, masked, block.backup));
  else if (servers.backup !== undefined)
    edits.push(insertBackup(text, masked, block.primary, servers.backup));
  // From the end, so that each edit's offsets are still those of the text.
  return edits
    .sort((a, b) => b.from - a.from)
    .reduce((t, e) => t.slice(0, e.from) + e.text + t.slice(e.to), text);
}
