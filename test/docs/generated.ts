import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.join(__dirname, '..', '..');

/** Fails with the first differing line and how to fix it, instead of printing two whole documents. */
export function expectGenerated(file: string, generated: string): void {
  const absolute = path.join(ROOT, file);
  const committed = fs.existsSync(absolute) ? fs.readFileSync(absolute, 'utf8') : '';
  if (committed === generated) return;
  const a = committed.split('\n');
  const b = generated.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? b.length : line;
  throw new Error(
    `${file} is out of date: run \`npm run docs\` and commit the result.\n` +
      `first difference at line ${at + 1}:\n  committed: ${a[at] ?? '(end of file)'}\n  generated: ${b[at] ?? '(end of file)'}`,
  );
}
