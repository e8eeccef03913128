// The architecture diagram of the README (docs/architecture.svg): a declarative description
// (ARCHITECTURE below, the text source to edit) and a small renderer to SVG. `npm run docs` writes
// the SVG; test/docs/ fails when the committed file differs from what this renders.

/** A labelled frame around boxes (the repository, the cluster, a namespace, the tenant's nodes). */
interface Group {
  x: number;
  y: number;
  width: number;
  height: number;
  label: string;
  /** A second line under the label. */
  note?: string;
  style: 'repository' | 'cluster' | 'namespace' | 'nodes';
  /** Put the label at the bottom edge (keeps the top free for arrows). */
  labelBelow?: boolean;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  title: string;
  lines: string[];
  style: 'source' | 'step' | 'output' | 'delivery' | 'workload' | 'object' | 'external';
}

interface Arrow {
  /** Start, optional bends, end. */
  points: Array<[number, number]>;
  label?: string;
  /** Where the label's baseline starts. */
  labelAt?: [number, number];
  labelAnchor?: 'start' | 'middle' | 'end';
}

interface Diagram {
  title: string;
  description: string;
  width: number;
  height: number;
  groups: Group[];
  boxes: Box[];
  arrows: Arrow[];
}

export const ARCHITECTURE: Diagram = {
  title: 'tenant-runners architecture',
  description:
    'config/ is synthesized by npx cdk8s synth into dist/, committed to Git; Argo CD or Flux apply each dist/<tenant>/ folder ' +
    'to a namespace per tenant, closed by default-deny NetworkPolicies, whose runner manager and job pods run on the ' +
    "tenant's own nodes and reach only GitLab, the image registry and the tenant's own S3 bucket.",
  width: 1000,
  height: 660,
  groups: [
    { x: 20, y: 20, width: 700, height: 125, label: 'Git repository', note: 'config/ and dist/ change together in one merge request', style: 'repository' },
    { x: 20, y: 170, width: 700, height: 470, label: 'Kubernetes cluster', style: 'cluster' },
    {
      x: 40, y: 290, width: 660, height: 330,
      label: 'namespace <tenant>: one per config/tenants/<tenant>.yaml',
      note: 'NetworkPolicies deny all ingress and egress by default; only the arrows leaving this box are allowed',
      style: 'namespace',
    },
    { x: 60, y: 362, width: 620, height: 140, label: "the tenant's nodes (labelled and tainted for this tenant only)", style: 'nodes', labelBelow: true },
  ],
  boxes: [
    { x: 40, y: 60, width: 190, height: 70, title: 'config/', lines: ['platform.yaml', 'tenants/<tenant>.yaml'], style: 'source' },
    { x: 275, y: 60, width: 190, height: 70, title: 'npx cdk8s synth', lines: ['validate, render, check', 'no Secrets, no credentials'], style: 'step' },
    { x: 510, y: 60, width: 190, height: 70, title: 'dist/', lines: ['a folder per tenant, a file', 'per object; _gitops/, ci/'], style: 'output' },
    { x: 510, y: 195, width: 190, height: 65, title: 'Argo CD or Flux', lines: ['one Application or', 'Kustomization per tenant'], style: 'delivery' },
    { x: 80, y: 380, width: 250, height: 78, title: 'runner manager', lines: ['Deployment gitlab-runner', 'config.toml, tokens from a Secret'], style: 'workload' },
    { x: 410, y: 380, width: 250, height: 78, title: 'job pods', lines: ['build (Kaniko), helper, services', 'no API token, pinned images'], style: 'workload' },
    { x: 60, y: 520, width: 300, height: 80, title: 'Secrets, referenced by name', lines: ['runner tokens, registry push credentials', 'created by you or External Secrets'], style: 'object' },
    { x: 380, y: 520, width: 300, height: 80, title: 'ResourceQuota, LimitRange', lines: ['sized from concurrent x the largest job', 'Role: pods and Secrets of this namespace'], style: 'object' },
    { x: 770, y: 55, width: 210, height: 80, title: 'GitLab', lines: ['hosts this repository', 'hands out CI jobs'], style: 'external' },
    { x: 770, y: 365, width: 210, height: 70, title: 'image registry', lines: ['<registry.host>/<tenant>/...'], style: 'external' },
    { x: 770, y: 465, width: 210, height: 80, title: 'S3 bucket per tenant', lines: ['cache/<runner>/: runner cache', 'layers/: Kaniko cache (mode s3)'], style: 'external' },
  ],
  arrows: [
    { points: [[230, 95], [275, 95]] },
    { points: [[465, 95], [510, 95]] },
    { points: [[605, 130], [605, 195]], label: 'git pull', labelAt: [613, 167], labelAnchor: 'start' },
    { points: [[605, 260], [605, 290]], label: 'apply dist/<tenant>/', labelAt: [597, 280], labelAnchor: 'end' },
    { points: [[330, 419], [410, 419]], label: 'creates', labelAt: [370, 412], labelAnchor: 'middle' },
    { points: [[205, 380], [205, 350], [745, 350], [745, 95], [770, 95]], label: 'poll jobs, clone, upload artifacts (HTTPS)', labelAt: [450, 345], labelAnchor: 'middle' },
    { points: [[660, 400], [770, 400]], label: 'push images', labelAt: [735, 393], labelAnchor: 'middle' },
    { points: [[660, 440], [745, 440], [745, 505], [770, 505]], label: 'cache', labelAt: [722, 433], labelAnchor: 'middle' },
  ],
};

const STYLES: Record<Box['style'], { fill: string; stroke: string }> = {
  source: { fill: '#e8f1fb', stroke: '#2f6db5' },
  step: { fill: '#fdf3e1', stroke: '#b9770e' },
  output: { fill: '#e8f1fb', stroke: '#2f6db5' },
  delivery: { fill: '#efe8f8', stroke: '#6c3fb0' },
  workload: { fill: '#e6f4ea', stroke: '#2e7d32' },
  object: { fill: '#f5f5f5', stroke: '#757575' },
  external: { fill: '#fdecea', stroke: '#b3261e' },
};

const GROUP_STYLES: Record<Group['style'], { fill: string; stroke: string; dash: string; width: number }> = {
  repository: { fill: '#fafcff', stroke: '#2f6db5', dash: '6 4', width: 1.5 },
  cluster: { fill: '#fcfcfc', stroke: '#616161', dash: '6 4', width: 1.5 },
  namespace: { fill: '#ffffff', stroke: '#c62828', dash: '', width: 3 },
  nodes: { fill: '#f6fbf7', stroke: '#2e7d32', dash: '3 3', width: 1.2 },
};

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function text(x: number, y: number, content: string, attributes: string): string {
  return `<text x="${x}" y="${y}" ${attributes}>${escapeXml(content)}</text>`;
}

/** Renders a diagram to a standalone SVG document (deterministic: same description, same bytes). */
export function renderSvg(diagram: Diagram): string {
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${diagram.width}" height="${diagram.height}" viewBox="0 0 ${diagram.width} ${diagram.height}" role="img" aria-labelledby="title desc" ${FONT}>`,
    `  <title id="title">${escapeXml(diagram.title)}</title>`,
    `  <desc id="desc">${escapeXml(diagram.description)}</desc>`,
    '  <defs>',
    '    <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">',
    '      <path d="M 0 0 L 10 5 L 0 10 z" fill="#37474f"/>',
    '    </marker>',
    '  </defs>',
    `  <rect x="0" y="0" width="${diagram.width}" height="${diagram.height}" fill="#ffffff"/>`,
  ];
  for (const group of diagram.groups) {
    const style = GROUP_STYLES[group.style];
    out.push(
      `  <rect x="${group.x}" y="${group.y}" width="${group.width}" height="${group.height}" rx="8" fill="${style.fill}" stroke="${style.stroke}" stroke-width="${style.width}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`,
      `  ${text(group.x + 12, group.labelBelow ? group.y + group.height - 9 : group.y + 19, group.label, `font-size="13" font-weight="bold" fill="${style.stroke}"`)}`,
    );
    if (group.note) out.push(`  ${text(group.x + 12, group.y + 35, group.note, 'font-size="11" fill="#424242"')}`);
  }
  for (const box of diagram.boxes) {
    const style = STYLES[box.style];
    const centre = box.x + box.width / 2;
    const lineHeight = 15;
    const top = box.y + (box.height - (18 + lineHeight * box.lines.length)) / 2 + 14;
    out.push(
      `  <rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="6" fill="${style.fill}" stroke="${style.stroke}" stroke-width="1.5"/>`,
      `  ${text(centre, top, box.title, 'font-size="14" font-weight="bold" text-anchor="middle" fill="#212121"')}`,
      ...box.lines.map((line, i) => `  ${text(centre, top + 18 + i * lineHeight, line, 'font-size="11.5" text-anchor="middle" fill="#37474f"')}`),
    );
  }
  for (const arrow of diagram.arrows) {
    out.push(`  <polyline points="${arrow.points.map(([x, y]) => `${x},${y}`).join(' ')}" fill="none" stroke="#37474f" stroke-width="1.6" marker-end="url(#arrow)"/>`);
    if (arrow.label && arrow.labelAt) {
      const [x, y] = arrow.labelAt;
      out.push(`  ${text(x, y, arrow.label, `font-size="11" font-style="italic" text-anchor="${arrow.labelAnchor ?? 'middle'}" fill="#263238" stroke="#ffffff" stroke-width="4" paint-order="stroke"`)}`);
    }
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** docs/architecture.svg. */
export function architectureSvg(): string {
  return renderSvg(ARCHITECTURE);
}
