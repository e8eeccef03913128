/**
 * NetworkPolicy building blocks shared by the tenant constructs and the shared-namespace chart.
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/
 */
import { k8s } from 'cdk8s-plus-28';
import { NAMESPACE_NAME_LABEL } from '../model/labels';
import { exceptsFor } from '../model/network';

/** Address of the EKS Pod Identity Agent on every node (AWS_CONTAINER_CREDENTIALS_FULL_URI). */
export const EKS_POD_IDENTITY_AGENT_CIDR = '169.254.170.23/32';

/** A destination outside the cluster's pods: CIDRs and the TCP ports open on them. */
export interface EgressDestination {
  /** CIDRs of the destination (`ipBlock.cidr`). */
  readonly cidrs: readonly string[];
  /** TCP ports of the destination. */
  readonly ports: readonly number[];
}

/** The cluster DNS: the namespace and pod labels of the DNS pods. */
export interface DnsEndpoint {
  /** Namespace of the DNS pods, e.g. `kube-system`. */
  readonly namespace: string;
  /** Labels of the DNS pods, e.g. `k8s-app: kube-dns`. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/**
 * An egress rule to these CIDRs on these ports (one protocol). A block that contains any of
 * `excluded` gets it as `except` (the rules refuse blocks that lie inside an excluded range).
 */
export function egressTo(cidrs: readonly string[], ports: readonly number[], protocol = 'TCP', excluded: readonly string[] = []): k8s.NetworkPolicyEgressRule {
  return {
    to: cidrs.map((cidr) => {
      const except = exceptsFor(cidr, excluded);
      return { ipBlock: except.length > 0 ? { cidr, except } : { cidr } };
    }),
    ports: ports.map((port) => ({ protocol, port: k8s.IntOrString.fromNumber(port) })),
  };
}

/** Deny all ingress and egress of every pod in the namespace; other policies open what is needed. */
export function defaultDenySpec(): k8s.NetworkPolicySpec {
  return { podSelector: {}, policyTypes: ['Ingress', 'Egress'] };
}

/** Every pod of the namespace may reach the cluster DNS on port 53 (UDP and TCP). */
export function dnsEgressSpec(dns: DnsEndpoint): k8s.NetworkPolicySpec {
  return {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{
      to: [{
        namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: dns.namespace } },
        podSelector: { matchLabels: { ...dns.podLabels } },
      }],
      ports: [
        { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
        { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
      ],
    }],
  };
}
