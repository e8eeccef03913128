/**
 * Kubernetes quantities as numbers, so quotas can be computed from job sizes.
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/
 */

const SUFFIX: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value in base units (cores, bytes). */
export function parseQuantity(quantity: string): number {
  const match = /^([+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([-+]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(quantity);
  if (!match) throw new Error(`not a Kubernetes quantity: '${quantity}'`);
  const [, number, exponent, suffix] = match;
  return Number(number) * (exponent !== undefined ? 10 ** Number(exponent) : SUFFIX[suffix ?? '']);
}

/** CPU as whole cores when exact, else millicores (rounded up, as the API server would). */
export function formatCpu(cores: number): string {
  const millis = Math.ceil(Math.round(cores * 1e6) / 1e3);
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Memory in the largest binary unit that represents it exactly. */
export function formatMemory(bytes: number): string {
  const whole = Math.ceil(bytes);
  for (const [unit, size] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (whole % size === 0) return `${whole / size}${unit}`;
  }
  return String(whole);
}
