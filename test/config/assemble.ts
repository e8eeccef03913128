import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** A config/ folder in a temporary project: the base fixture with the case's files laid over it. */
export function assembleCase(caseDir: string): string {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'tenant-runners-case-'));
  const config = path.join(project, 'config');
  fs.cpSync(path.join(FIXTURES, 'base'), config, { recursive: true });
  const overlay = (from: string, to: string) => {
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
      if (['expected.txt', 'remove.txt'].includes(entry.name)) continue;
      if (entry.isDirectory()) overlay(path.join(from, entry.name), path.join(to, entry.name));
      else fs.cpSync(path.join(from, entry.name), path.join(to, entry.name));
    }
  };
  overlay(caseDir, config);
  const removeList = path.join(caseDir, 'remove.txt');
  if (fs.existsSync(removeList)) {
    for (const file of fs.readFileSync(removeList, 'utf8').split('\n').filter(Boolean)) fs.rmSync(path.join(config, file));
  }
  return project;
}

