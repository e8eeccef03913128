/**
 * Escaping for the three kinds of generated text that embed configuration values: shell lines,
 * YAML comments and Markdown. The schema already refuses values that do not fit what they are (an
 * image repository, a label, a DNS name); these functions make the renderers safe on their own, so
 * a value that slipped through can only ever appear as text, never as code, YAML or a table row.
 */

/** Every sequence a YAML 1.1/1.2 parser, a shell or a Markdown renderer may take as a line break. */
const LINE_BREAK = /\r\n|[\n\r\u0085\u2028\u2029]/;

/** A POSIX shell word that is exactly `value`: single quotes, with `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * YAML comment lines (`# …`): a line break inside a value only starts another comment line, so
 * no value can add keys or jobs to the document. Empty lines become a bare `#`.
 */
export function yamlComment(lines: readonly string[]): string {
  return lines
    .flatMap((line) => line.split(LINE_BREAK))
    // Other control characters have no business in a comment (a YAML parser rejects some of them).
    // eslint-disable-next-line no-control-regex
    .map((line) => line.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '?'))
    .map((line) => (line === '' ? '#' : `# ${line}`))
    .join('\n');
}

/**
 * One Markdown table cell: `|` cannot end the cell, a line break cannot end the row, and
 * backticks, brackets, emphasis and HTML characters show as themselves.
 */
export function markdownCell(text: string): string {
  return text
    .split(LINE_BREAK)
    .join(' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/[\\`*_[\]<>|#!~]/g, (c) => `\\${c}`);
}

/** A Markdown link whose text is escaped and whose target is percent-encoded per path segment. */
export function markdownLink(text: string, target: string): string {
  const href = target.split('/').map((segment) => encodeURIComponent(segment)).join('/');
  return `[${markdownCell(text)}](${href})`;
}

/** Inline code: a backtick fence longer than any run of backticks in the value. */
export function markdownCode(text: string): string {
  const flat = text.split(LINE_BREAK).join(' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A shell word: the value itself when it holds only characters no shell treats specially, else quoted. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9._/:=@%+,-]+$/.test(value) ? value : shellQuote(value);
}

/** Text for inside a `# …` comment line: line breaks and control characters become spaces. */
export function commentText(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.split(LINE_BREAK).join(' ').replace(/[\u0000-\u001f\u007f]/g, ' ');
}
