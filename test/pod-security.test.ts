import { JobContainerSecurity, podSecurityViolations, violatedControls } from './support/pod-security';
import { KANIKO_CAPABILITIES } from '../lib/constructs/tenant-runner';

// The build container as config.toml renders it (lib/constructs/tenant-runner.ts).
const kanikoBuild: JobContainerSecurity = {
  pod: { seccomp_profile: { type: 'RuntimeDefault' } },
  container: {
    privileged: false,
    allow_privilege_escalation: false,
    seccomp_profile: { type: 'RuntimeDefault' },
    capabilities: { drop: ['ALL'], add: KANIKO_CAPABILITIES },
  },
  volumes: { secret: [{ name: 'kaniko-push-credentials' }] },
};
const withContainer = (patch: object): JobContainerSecurity => ({ ...kanikoBuild, container: { ...kanikoBuild.container, ...patch } });

describe('the Kaniko build container', () => {
  test('passes Pod Security baseline', () => {
    expect(podSecurityViolations(kanikoBuild, 'baseline')).toEqual([]);
  });

  test('fails restricted for exactly the documented reasons: it may run as root, and it adds capabilities', () => {
    const violations = podSecurityViolations(kanikoBuild, 'restricted');
    expect(violations.map((v) => `${v.level}:${v.control}`).sort()).toEqual(['restricted:capabilitiesRestricted', 'restricted:runAsNonRoot']);
    expect(violations.find((v) => v.control === 'capabilitiesRestricted')?.message).toBe(
      'only NET_BIND_SERVICE may be added, got CHOWN, DAC_OVERRIDE, FOWNER, SETUID, SETGID, SETFCAP, KILL',
    );
  });

  test('every capability Kaniko needs is one baseline allows', () => {
    expect(violatedControls(withContainer({ capabilities: { drop: ['ALL'], add: ['SETFCAP'] } }), 'baseline')).toEqual([]);
  });
});

describe('fails baseline', () => {
  test.each<[string, JobContainerSecurity, string]>([
    ['when the container is privileged', withContainer({ privileged: true }), 'privileged'],
    ['when it adds SYS_ADMIN', withContainer({ capabilities: { drop: ['ALL'], add: ['CHOWN', 'SYS_ADMIN'] } }), 'capabilities'],
    ['when it adds NET_RAW', withContainer({ capabilities: { add: ['NET_RAW'] } }), 'capabilities'],
    ['when the job pod mounts a hostPath', { ...kanikoBuild, volumes: { ...kanikoBuild.volumes, host_path: [{ name: 'docker', host_path: '/var/run/docker.sock' }] } }, 'hostPathVolumes'],
    ['when seccomp is Unconfined in the container', withContainer({ seccomp_profile: { type: 'Unconfined' } }), 'seccomp'],
    ['when seccomp is Unconfined for the pod and the container sets none', { ...kanikoBuild, pod: { seccomp_profile: { type: 'Unconfined' } }, container: { ...kanikoBuild.container, seccomp_profile: undefined } }, 'seccomp'],
    ['when /proc is unmasked', withContainer({ proc_mount: 'Unmasked' }), 'procMount'],
  ])('%s', (_name, input, control) => {
    expect(violatedControls(input, 'baseline')).toEqual([control]);
    // What fails baseline fails restricted too.
    expect(violatedControls(input, 'restricted')).toContain(control);
  });

  test('an empty hostPath list is no hostPath volume', () => {
    expect(violatedControls({ ...kanikoBuild, volumes: { host_path: [] } }, 'baseline')).toEqual([]);
  });
});

describe('restricted', () => {
  const nonRootHelper: JobContainerSecurity = {
    pod: { seccomp_profile: { type: 'RuntimeDefault' } },
    container: { privileged: false, allow_privilege_escalation: false, run_as_non_root: true, run_as_user: 1001, capabilities: { drop: ['ALL'] } },
  };

  test('a non-root container that drops ALL, forbids escalation and inherits RuntimeDefault passes', () => {
    expect(podSecurityViolations(nonRootHelper, 'restricted')).toEqual([]);
  });

  test.each<[string, object, string]>([
    ['when privilege escalation is not explicitly false', { allow_privilege_escalation: undefined }, 'allowPrivilegeEscalation'],
    ['when run_as_non_root is unset', { run_as_non_root: undefined }, 'runAsNonRoot'],
    ['when it runs as UID 0', { run_as_user: 0 }, 'runAsUser'],
    ['when it does not drop ALL', { capabilities: { drop: ['NET_RAW'] } }, 'capabilitiesRestricted'],
  ])('fails %s', (_name, patch, control) => {
    expect(violatedControls({ ...nonRootHelper, container: { ...nonRootHelper.container, ...patch } }, 'restricted')).toEqual([control]);
  });

  test('fails when no seccomp profile is set at pod or container level', () => {
    expect(violatedControls({ container: nonRootHelper.container }, 'restricted')).toEqual(['seccomp']);
  });

  test('run_as_non_root from the pod security context counts for the container', () => {
    expect(violatedControls({ ...nonRootHelper, pod: { ...nonRootHelper.pod, run_as_non_root: true }, container: { ...nonRootHelper.container, run_as_non_root: undefined } }, 'restricted')).toEqual([]);
  });

  test('NET_BIND_SERVICE is the one capability restricted allows to add', () => {
    expect(violatedControls({ ...nonRootHelper, container: { ...nonRootHelper.container, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }, 'restricted')).toEqual([]);
  });
});
