/**
 * IPv4 CIDR arithmetic for NetworkPolicy ipBlocks, and the address ranges no tenant egress may
 * reach. Rules (lib/config) refuse a block that lies inside one of them; the constructs add every
 * one of them that lies inside a wider block to its `except` list.
 */

/** Link-local: the cloud metadata service (169.254.169.254) and the EKS Pod Identity Agent (169.254.170.23). */
export const LINK_LOCAL_CIDRS = ['169.254.0.0/16'] as const;

/** Ports of node and control-plane components: etcd, kubelet (also read-only), kube-proxy health, controller-manager, scheduler. */
export const CONTROL_PLANE_PORTS: Readonly<Record<number, string>> = {
  2379: 'etcd client',
  2380: 'etcd peer',
  10250: 'kubelet API',
  10255: 'kubelet read-only API',
  10256: 'kube-proxy health',
  10257: 'kube-controller-manager',
  10259: 'kube-scheduler',
};

export function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const base = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  const start = base - (base % size);
  return [start, start + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [aStart, aEnd] = cidrRange(a);
  const [bStart, bEnd] = cidrRange(b);
  return aStart <= bEnd && bStart <= aEnd;
}

/** Whether `inner` lies inside `outer` (equal counts). */
export function cidrWithin(inner: string, outer: string): boolean {
  const [iStart, iEnd] = cidrRange(inner);
  const [oStart, oEnd] = cidrRange(outer);
  return oStart <= iStart && iEnd <= oEnd;
}

/**
 * The `except` list of an ipBlock: every excluded range that lies strictly inside it, sorted and
 * without ranges already covered by another excluded one. (A range that contains the block or
 * equals it is a configuration error the rules report; it never reaches a construct.)
 */
export function exceptsFor(cidr: string, excluded: readonly string[]): string[] {
  const inside = [...new Set(excluded)].filter((x) => cidrWithin(x, cidr) && !cidrWithin(cidr, x));
  const minimal = inside.filter((x) => !inside.some((y) => y !== x && cidrWithin(x, y)));
  return minimal.sort((a, b) => cidrRange(a)[0] - cidrRange(b)[0] || a.localeCompare(b));
}
