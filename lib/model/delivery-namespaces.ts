/**
 * Which namespaces the Argo CD AppProject lets tenant Applications deploy to: namespace globs
 * (`gitops.argocd.namespaces`, default `*`) minus the namespaces no tenant may ever own. Patterns,
 * not a list of tenant namespaces, so that adding a tenant never changes the shared AppProject.
 */
import type { Platform } from '../config/schema';

/** Namespaces a tenant Application may never deploy to, whatever `gitops.argocd.namespaces` allows. */
export function deniedNamespaces(platform: Platform): string[] {
  const { gitops, monitoring, kubernetes } = platform;
  const globs = ['default', 'kube-*'];
  for (const namespace of [gitops.argocd.namespace, gitops.flux.namespace, monitoring.namespace, kubernetes.dns.namespace]) {
    if (!globs.some((glob) => globMatches(glob, namespace))) globs.push(namespace);
  }
  return globs;
}

/** Argo CD's namespace globs: `*` any run of characters, `?` one character. */
export function globMatches(glob: string, value: string): boolean {
  const pattern = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(value);
}

/** Why a namespace matches none of `gitops.argocd.namespaces`, or undefined when one matches. */
export function namespaceOutsidePatterns(platform: Platform, namespace: string): string | undefined {
  const allowed = platform.gitops.argocd.namespaces;
  if (!allowed.some((glob) => globMatches(glob, namespace))) {
    return `namespace '${namespace}' matches none of gitops.argocd.namespaces (${allowed.join(', ')}); add a pattern for it there (one change to the shared AppProject)`;
  }
  return undefined;
}

/** `ssh://…` or scp-like `user@host:path`: a Git URL that always needs credentials. */
export function isSshUrl(url: string): boolean {
  return /^ssh:\/\//.test(url) || /^[^/:@\s]+@[^/:\s]+:/.test(url);
}
