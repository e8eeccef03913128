/**
 * Names of the objects in a tenant namespace. Anything referred to by name (ServiceAccounts in
 * config.toml, the ConfigMap in the Deployment, the token Secret) gets its name here, so a
 * rename is one change and never a dangling reference.
 */
export const names = {
  managerServiceAccount: 'gitlab-runner',
  jobServiceAccount: 'gitlab-runner-jobs',
  role: 'gitlab-runner',
  roleBinding: 'gitlab-runner',
  configMap: 'gitlab-runner-config',
  deployment: 'gitlab-runner',
  podMonitor: 'gitlab-runner',
  resourceQuota: 'gitlab-runner-jobs',
  limitRange: 'gitlab-runner-jobs',
  /** `kubernetes.io/dockerconfigjson` Secret with the tenant's registry push credentials (Kaniko). */
  kanikoPushSecret: 'kaniko-push-credentials',
} as const;

/** Environment variable that carries a runner's token into config.toml (`token = "${...}"`). */
export function runnerTokenEnv(runner: string): string {
  return `RUNNER_TOKEN_${runner.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}
