/**
 * examples/gitlab-ci.yml is what users copy into the configuration repository: it must be valid
 * GitLab CI (GitLab's own JSON Schema, vendor/gitlab-ci-schema/) and do what the README says.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { Any, ROOT } from './support/synth';

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'vendor', 'gitlab-ci-schema', 'ci.json'), 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);
const errors = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

const example: Any = parse(fs.readFileSync(path.join(ROOT, 'examples', 'gitlab-ci.yml'), 'utf8'));
const script = (job: string) => [...(example.default?.before_script ?? []), ...example[job].script].join('\n');

test('examples/gitlab-ci.yml is valid against GitLab\'s CI schema', () => {
  expect(errors(example)).toEqual([]);
});

test('the schema catches mistakes (it validates something)', () => {
  expect(errors({ synth: { scrip: ['npm run synth'] } })).not.toEqual([]);
  expect(errors({ synth: { script: ['x'], when: 'sometimes' } })).not.toEqual([]);
});

test('synth: runs the synth and fails when dist/ drifts, new files included', () => {
  const text = script('synth');
  expect(text).toContain('npm ci');
  expect(text).toMatch(/npm run synth/);
  expect(text).toContain('git add --intent-to-add dist');
  expect(text).toMatch(/git diff --exit-code .*-- dist/);
});

test('diff: compares against the target branch and comments with a project access token, never CI_JOB_TOKEN', () => {
  const text = script('diff');
  expect(example.diff.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
  expect(text).toContain('$CI_MERGE_REQUEST_TARGET_BRANCH_NAME');
  expect(text).toMatch(/npm run --silent diff > diff\.txt \|\| \[ \$\? -eq 1 \]/);
  expect(text).toContain('PRIVATE-TOKEN: $DIFF_NOTE_TOKEN');
  expect(text).toContain('/merge_requests/$CI_MERGE_REQUEST_IID/notes');
  expect(text).not.toContain('CI_JOB_TOKEN');
});
