/**
 * The CI examples in docs/kaniko.md are documentation users copy: they must parse, extend the
 * template's hidden job, and keep Maven/NuGet caches inside the project directory (the runner
 * caches only paths under $CI_PROJECT_DIR).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from './generated';

const section = fs.readFileSync(path.join(ROOT, 'docs', 'kaniko.md'), 'utf8');
const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]));
const byComment = (needle: string) => {
  const raw = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).find((text) => text.startsWith(`# ${needle}`));
  if (!raw) throw new Error(`no docs/kaniko.md example starting with '# ${needle}'`);
  return parseYaml(raw);
};

test('docs/kaniko.md holds the include example and the Maven and .NET examples, all valid YAML', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  const include = blocks[0];
  expect(include.include[0].file).toBe('dist/ci/tenant-1/kaniko.gitlab-ci.yml');
  expect(include['build-image'].extends).toBe('.kaniko-build');
});

test('Maven: the local repository is .m2/repository inside the project, and that path is cached', () => {
  const maven = byComment('Maven');
  expect(maven.variables.MAVEN_OPTS).toContain('-Dmaven.repo.local=$CI_PROJECT_DIR/.m2/repository');
  expect(maven['package-jar'].cache.paths).toEqual(['.m2/repository/']);
  expect(maven['build-image']).toMatchObject({ extends: '.kaniko-build', needs: ['package-jar'] });
});

test('.NET: NUGET_PACKAGES is .nuget/packages inside the project, and that path is cached', () => {
  const dotnet = byComment('.NET');
  expect(dotnet.variables.NUGET_PACKAGES).toBe('$CI_PROJECT_DIR/.nuget/packages');
  expect(dotnet.publish.cache.paths).toEqual(['.nuget/packages/']);
  expect(dotnet['build-image']).toMatchObject({ extends: '.kaniko-build', needs: ['publish'] });
});
