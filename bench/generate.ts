/**
 * Synthetic configurations for the benchmark and the scale tests: one `platform.yaml` and N tenant
 * files that pass every schema and cross-tenant rule (unique names, buckets, Kaniko cache repos and
 * node label sets, tainted nodes), deterministic for a given N.
 *
 * Tenants vary the way real ones do, by index: one to three runners, every S3 auth type, KMS
 * encryption, extra egress, quota overrides, untainted-but-allowed nodes. All tenant names have
 * the same length, so output size grows in proportion to N.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A configuration directory's files, by path relative to it (`platform.yaml`, `tenants/<name>.yaml`). */
export type ConfigFiles = Map<string, string>;

export const PLATFORM_YAML = `# Synthetic platform for the benchmark (bench/generate.ts).
gitlab:
  url: https://gitlab.example.com
  egressCidrs: [203.0.113.10/32]
kubernetes:
  apiServerCidrs: [192.0.2.10/32]
  clusterCidrs: [10.244.0.0/16, 10.96.0.0/12]
s3:
  region: eu-central-1
  egressCidrs: [198.51.100.0/24]
registry:
  host: registry.local
  egressCidrs: [198.51.100.20/32]
monitoring:
  namespace: monitoring
  podMonitorLabels: { release: prometheus }
defaults:
  concurrent: 8
`;

/** The name of tenant `index` (0-based): `t` and six digits, so names sort in index order. */
export function tenantName(index: number): string {
  return `t${String(index).padStart(6, '0')}`;
}

/** The YAML of tenant `index`. */
export function tenantYaml(index: number): string {
  const name = tenantName(index);
  const lines = [`name: ${name}`];
  if (index % 3 === 1) lines.push(`concurrent: ${10 + (index % 40)}`);
  lines.push('nodes:', '  labels:', `    tenant: ${name}`, '    workload: gitlab-runner');
  if (index % 10 === 9) {
    lines.push('  allowUntainted: true');
  } else {
    lines.push('  taints:', `    - { key: tenant, value: ${name}, effect: NoSchedule }`);
    if (index % 7 === 3) lines.push(`    - { key: dedicated-ci, value: ${name}, effect: NoExecute }`);
  }
  lines.push('runners:', '  - name: builds', '    image: maven:3.9-eclipse-temurin-21');
  if (index % 2 === 0) lines.push('  - name: docker-builds', '    limit: 4', '    allowedImages: ["registry.local/*", "alpine:*"]');
  if (index % 4 === 0) {
    lines.push(
      '  - name: large',
      '    tokenSecretKey: large-token',
      '    environment: { MAVEN_OPTS: "-Xmx2g" }',
      '    resources:',
      '      build:',
      '        requests: { cpu: 2, memory: 4Gi, ephemeralStorage: 5Gi }',
      '        limits: { cpu: 4, memory: 8Gi }',
    );
  }
  lines.push('cache:', '  s3:', `    bucket: ${name}-ci-cache`);
  switch (index % 3) {
    case 0:
      lines.push('    auth:', '      type: iamRole', `      roleArn: arn:aws:iam::111122223333:role/${name}-runner-cache`);
      break;
    case 1:
      lines.push('    auth: { type: podIdentity }');
      lines.push('    encryption: { type: KMS, kmsKeyId: arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab }');
      break;
    default:
      lines.push(`    auth: { type: staticKeys, secretName: ${name}-s3 }`);
  }
  if (index % 5 === 0) lines.push('  kaniko:', `    repo: registry.local/${name}/kaniko-cache`);
  if (index % 6 === 2) lines.push('egress:', '  extra:', `    - { cidr: 10.50.${index % 256}.0/24, ports: [443, 8081], description: artifact proxy }`);
  if (index % 8 === 5) lines.push('quota:', '  servicesPerJob: 2', '  hard: { pods: "40" }');
  return `${lines.join('\n')}\n`;
}

/** The files of a configuration with `tenants` tenants. */
export function generateConfigFiles(tenants: number): ConfigFiles {
  const files: ConfigFiles = new Map([['platform.yaml', PLATFORM_YAML]]);
  for (let i = 0; i < tenants; i++) files.set(`tenants/${tenantName(i)}.yaml`, tenantYaml(i));
  return files;
}

/** Writes a configuration with `tenants` tenants into `dir` (which must not hold another one). */
export function writeConfig(dir: string, tenants: number): void {
  fs.mkdirSync(path.join(dir, 'tenants'), { recursive: true });
  for (const [file, text] of generateConfigFiles(tenants)) fs.writeFileSync(path.join(dir, file), text);
}
