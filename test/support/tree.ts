import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** sha256 over every file path and content below `dir` (or 'absent'): "unchanged" in one value. */
export function treeHash(dir: string): string {
  if (!fs.existsSync(dir)) return 'absent';
  const hash = createHash('sha256');
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else hash.update(child).update('\0').update(fs.readFileSync(path.join(dir, child))).update('\0');
    }
  };
  walk('');
  return hash.digest('hex');
}
