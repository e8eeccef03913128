/**
 * docs/architecture.svg is rendered from the declarative description in scripts/diagram.ts
 * (`npm run docs`): the committed file must match it, and the description must stay readable
 * (text inside its box, everything on the canvas, boxes not overlapping).
 */
import { ARCHITECTURE, architectureSvg } from '../../scripts/diagram';
import { expectGenerated } from './generated';

/** An estimate of rendered text width (Helvetica/Arial: ~0.55 em per glyph on average; bold or capitals a little wider). */
const textWidth = (text: string, fontSize: number) => text.length * fontSize * 0.55;

test('docs/architecture.svg is what `npm run docs` renders from scripts/diagram.ts', () => {
  expectGenerated('docs/architecture.svg', architectureSvg());
});

test('the SVG is a standalone document with a title and a description', () => {
  const svg = architectureSvg();
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).toContain('<title id="title">');
  expect(svg).toContain('<desc id="desc">');
  expect(svg).not.toMatch(/<(?:script|image|foreignObject)\b|href="http/);
});

test('every box text fits in its box and every box is on the canvas', () => {
  const problems: string[] = [];
  for (const box of ARCHITECTURE.boxes) {
    if (box.x < 0 || box.y < 0 || box.x + box.width > ARCHITECTURE.width || box.y + box.height > ARCHITECTURE.height) problems.push(`${box.title}: off the canvas`);
    if (textWidth(box.title, 14) > box.width - 10) problems.push(`${box.title}: title too wide`);
    for (const line of box.lines) if (textWidth(line, 11.5) > box.width - 10) problems.push(`${box.title}: '${line}' too wide`);
    if (18 + 15 * box.lines.length > box.height - 8) problems.push(`${box.title}: too many lines`);
  }
  for (const group of ARCHITECTURE.groups) {
    if (group.x + group.width > ARCHITECTURE.width || group.y + group.height > ARCHITECTURE.height) problems.push(`${group.label}: off the canvas`);
    if (textWidth(group.label, 13.5) > group.width - 20) problems.push(`${group.label}: label too wide`);
    if (textWidth(group.note ?? '', 11) > group.width - 20) problems.push(`${group.label}: note too wide`);
  }
  expect(problems).toEqual([]);
});

test('boxes do not overlap', () => {
  const boxes = ARCHITECTURE.boxes;
  const overlaps = boxes.flatMap((a, i) =>
    boxes.slice(i + 1).filter((b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height).map((b) => `${a.title} / ${b.title}`),
  );
  expect(overlaps).toEqual([]);
});

test('the diagram shows the path from config/ to the cluster and the external services', () => {
  const titles = ARCHITECTURE.boxes.map((box) => box.title);
  expect(titles).toEqual(expect.arrayContaining(['config/', 'npx cdk8s synth', 'dist/', 'Argo CD or Flux', 'runner manager', 'job pods', 'GitLab', 'image registry', 'S3 bucket per tenant']));
  expect(ARCHITECTURE.groups.map((group) => group.label).join('\n')).toMatch(/namespace <tenant>[\s\S]*nodes/);
  expect(ARCHITECTURE.groups.find((group) => group.style === 'namespace')?.note).toMatch(/NetworkPolicies deny all ingress and egress by default/);
});
