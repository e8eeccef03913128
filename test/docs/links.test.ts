/**
 * The README and docs/*.md link to each other and into the repository with relative links: every
 * one must reach an existing file, and every #anchor a heading of its target (GitHub's heading
 * slugs). The README stays a short entry point, and no page cites anything outside the
 * repository.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './generated';

const pages = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
/**
 * Pages written on another branch that the README already links. A listed page is checked like any
 * other once it exists; take it off the list when it has landed.
 */
const PENDING = new Set<string>();

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, -1, -2 … for repeats. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .split(/(`[^`]*`)/)
      .map((part, i) => (i % 2 === 1 ? part : part.replace(/<[^>]+>/g, ''))) // HTML outside code is dropped
      .join('')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const [, id] of markdown.matchAll(/<a (?:name|id)="([^"]+)"/g)) result.add(id);
  return result;
}

function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

test('the anchor function follows GitHub', () => {
  expect([...anchors('# A `b` c\n## Review a change: `npm run diff`\n## A b c\n```\n# not a heading\n```\n### `config/tenants/<tenant>.yaml`\n## a <b>c</b>')]).toEqual([
    'a-b-c', 'review-a-change-npm-run-diff', 'a-b-c-1', 'configtenantstenantyaml', 'a-c',
  ]);
});

test.each(pages)('%s: every relative link reaches a file, every anchor a heading', (page) => {
  const broken: string[] = [];
  for (const link of links(read(page))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [target, anchor] = link.split('#');
    const file = target === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), target));
    if (file.startsWith('..') || !fs.existsSync(path.join(ROOT, file))) {
      if (PENDING.has(file) && anchor === undefined) continue;
      broken.push(`${link}: no file ${file}`);
      continue;
    }
    if (anchor !== undefined && !(file.endsWith('.md') && anchors(read(file)).has(anchor))) broken.push(`${link}: no heading #${anchor} in ${file}`);
  }
  expect(broken).toEqual([]);
});

test.each(pages)('%s cites nothing outside the repository', (page) => {
  expect(read(page)).not.toMatch(/SPEC §|\.\.\/shared/);
});

test('the README links every page of docs/ and stays a short entry point', () => {
  const readme = read('README.md');
  const linked = new Set(links(readme).map((link) => link.split('#')[0]));
  expect(pages.filter((page) => page !== 'README.md' && !linked.has(page))).toEqual([]);
  expect(readme).toContain('](docs/architecture.svg)');
  expect(readme.split('\n').length).toBeLessThanOrEqual(200);
});
