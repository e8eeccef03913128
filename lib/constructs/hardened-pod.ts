import { k8s } from 'cdk8s-plus-28';

/**
 * Security context of every long-running container this project defines (runner manager, cache
 * registry): what Pod Security `restricted` requires, plus a read-only root filesystem.
 */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** Container `resources` from configured requests and limits. */
export function resourceRequirements(resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }): k8s.ResourceRequirements {
  const quantities = (list: { cpu: string; memory: string }) => ({ cpu: k8s.Quantity.fromString(list.cpu), memory: k8s.Quantity.fromString(list.memory) });
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}

/**
 * Pod `securityContext` of every long-running pod this project defines (runner manager, cache
 * registry): a fixed non-root user and group, volumes owned by that group, the runtime's default
 * seccomp profile. Together with RESTRICTED_CONTAINER_SECURITY_CONTEXT it passes Pod Security
 * `restricted`.
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
export function hardenedPodSecurityContext(uid: number, gid: number = uid): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
