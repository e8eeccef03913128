import { parse as parseToml } from 'smol-toml';
import { allTenants, find } from './support/synth';
import { validateObject, validateRunnerToml } from './support/validate';

describe.each(allTenants())('%s', (_label, { objects, layout }) => {
  test.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o]))(
    '%s validates against the Kubernetes 1.28 / CRD schema',
    (_name, object) => {
      expect(validateObject(object)).toEqual([]);
    },
  );

  test('config.toml validates against the gitlab-runner 19.3 schema', () => {
    const toml = find(objects, 'ConfigMap', layout.names.configMap).data['config.toml'];
    expect(validateRunnerToml(toml)).toEqual([]);
  });
});

describe('the validators themselves', () => {
  test('fails when a Kubernetes object has a field Kubernetes 1.28 does not know', () => {
    const [, { objects }] = allTenants()[0];
    const deployment = JSON.parse(JSON.stringify(find(objects, 'Deployment', 'gitlab-runner')));
    deployment.spec.template.spec.containers[0].resizePolicyy = [];
    expect(validateObject(deployment).join('\n')).toMatch(/resizePolicyy: unknown field in Kubernetes 1.28 V1Container/);
  });

  test('fails when a Kubernetes object misses a required field', () => {
    const [, { objects }] = allTenants()[0];
    const deployment = JSON.parse(JSON.stringify(find(objects, 'Deployment', 'gitlab-runner')));
    delete deployment.spec.selector;
    expect(validateObject(deployment).join('\n')).toMatch(/selector/);
  });

  test('fails when a PodMonitor breaks its CRD schema', () => {
    const [, { objects }] = allTenants()[0];
    const monitor = JSON.parse(JSON.stringify(find(objects, 'PodMonitor', 'gitlab-runner')));
    monitor.spec.podMetricsEndpoints[0].relabelings[0].action = 'Rewrite';
    expect(validateObject(monitor)).not.toEqual([]);
  });

  test('fails when a PrometheusRule breaks its CRD schema (Go patterns included) or has a field the CRD does not declare', () => {
    const [, { objects }] = allTenants()[0];
    const rule = JSON.parse(JSON.stringify(find(objects, 'PrometheusRule', 'gitlab-runner')));
    expect(validateObject(rule)).toEqual([]);
    rule.spec.groups[0].rules[0].for = 'five minutes';
    rule.spec.groups[0].partial_response_strategy = 'ABORT';
    rule.spec.groups[0].rules[1].severity = 'critical';
    const problems = validateObject(rule).join('\n');
    expect(problems).toMatch(/groups\/0\/rules\/0\/for must match pattern/);
    expect(problems).toMatch(/\.spec\.groups\[0\]\.rules\[1\]\.severity: unknown field in the CRD schema/);
    // `^(?i)(abort|warn)?$` in the CRD: case-insensitive, as Go reads it.
    expect(problems).not.toMatch(/partial_response_strategy/);
    rule.spec.groups[0].partial_response_strategy = 'drop';
    expect(validateObject(rule).join('\n')).toMatch(/partial_response_strategy must match pattern/);
  });

  test('fails when an ExternalSecret breaks its CRD schema or has a field the CRD does not declare', () => {
    const [, { objects }] = allTenants().find(([label]) => label.startsWith('fixture external-secrets/'))!;
    const es = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'ExternalSecret')));
    expect(validateObject(es)).toEqual([]);
    es.spec.secretStoreRef.kind = 'VaultStore';
    es.spec.data[0].secretKey = 'not a key';
    es.spec.target.templat = {};
    const problems = validateObject(es).join('\n');
    expect(problems).toMatch(/secretStoreRef\/kind must be equal to one of the allowed values/);
    expect(problems).toMatch(/data\/0\/secretKey must match pattern/);
    expect(problems).toMatch(/\.spec\.target\.templat: unknown field in the CRD schema/);
  });

  test('fails when config.toml has a misspelled key', () => {
    const [, { objects }] = allTenants()[0];
    const toml = find(objects, 'ConfigMap', 'gitlab-runner-config').data['config.toml'];
    expect(parseToml(toml)).toBeTruthy();
    expect(validateRunnerToml(toml.replace('node_selector_overwrite_allowed', 'node_selectors_overwrite_allowed')).join('\n')).toMatch(/additional/);
    expect(validateRunnerToml(toml.replace('BucketName', 'bucket_name'))).not.toEqual([]);
  });
});
