/**
 * Reading and removing output trees. `dist/` holds only directories and regular files; anything
 * else (a symlink, say) is treated as a file: listed, never followed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every file below `dir` by its `/`-separated path relative to `dir` (empty when `dir` is missing). */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(rel ? path.join(dir, rel) : dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !rel) return;
      throw error;
    }
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out;
}

/** Every file below `dir` with its content (for `diff`, which shows contents). */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of listTree(dir)) out.set(file, fs.readFileSync(path.join(dir, file), 'utf8'));
  return out;
}

/**
 * `fs.rmSync(dir, { recursive: true, force: true })` for a tree of directories and files, with one
 * readdir per directory instead of an lstat per entry (a third of the time at 30,000 files).
 * Anything that is not a directory (a file, a symlink) is unlinked, never followed.
 */
export function removeTree(dir: string): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) removeTree(child);
    else fs.unlinkSync(child);
  }
  fs.rmdirSync(dir);
}
