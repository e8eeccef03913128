/**
 * Table-driven bad-input tests. Each folder in test/fixtures/invalid/ holds files that replace
 * (or, listed in `remove.txt`, delete) files of test/fixtures/base/, and `expected.txt` with the
 * exact problem lines the loader must report, in order.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatProblem } from '../../lib/config/errors';
import { loadConfig } from '../../lib/config/load';
import { findCredential } from '../../lib/guards/credentials';
import { assembleCase, FIXTURES } from './assemble';


const cases = fs.readdirSync(path.join(FIXTURES, 'invalid')).sort();

test('the base fixture itself is valid', () => {
  const project = assembleCase(fs.mkdtempSync(path.join(os.tmpdir(), 'empty-case-')));
  expect(loadConfig(path.join(project, 'config'), { displayBase: project }).tenants.map((t) => t.name)).toEqual(['acme', 'zeta']);
});

test.each(cases)('fails when %s', (name) => {
  const caseDir = path.join(FIXTURES, 'invalid', name);
  const expected = fs.readFileSync(path.join(caseDir, 'expected.txt'), 'utf8').split('\n').filter(Boolean);
  const project = assembleCase(caseDir);
  let problems: string[] = [];
  try {
    loadConfig(path.join(project, 'config'), { displayBase: project });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = error.problems.map(formatProblem);
  }
  expect(problems).toEqual(expected);
  // Messages go to CI logs: a value that looks like a credential is never echoed.
  for (const line of problems) expect(findCredential(line)).toBeUndefined();
});
