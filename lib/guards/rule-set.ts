/**
 * The maintained part of the credential guard: the rules of secretlint's recommended preset
 * (@secretlint/secretlint-rule-preset-recommend, MIT, pinned in package.json; docs/credential-guard.md),
 * run synchronously without secretlint's engine. Each rule is a scanner over a text; the engine
 * is asynchronous and reads files, which the synth (every string of every object) cannot afford.
 * Rule messages echo the secret, so only the rule id and message id are kept.
 */
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import presetPackage from '@secretlint/secretlint-rule-preset-recommend/package.json';

export const RULE_SET = { name: presetPackage.name as string, version: presetPackage.version as string };

/** One finding of a rule of the set: which rule, which of its messages, where in the text. */
export interface RuleSetHit {
  /** e.g. `@secretlint/secretlint-rule-github` */
  readonly ruleId: string;
  /** e.g. `GITHUB_TOKEN` */
  readonly messageId: string;
  readonly start: number;
}

interface Source {
  readonly content: string;
  readonly filePath?: string;
  readonly ext: string;
  readonly contentType: 'text';
}
interface Report {
  readonly message: unknown;
  readonly range?: readonly [number, number];
}
interface Context {
  report(descriptor: Report): void;
  ignore(descriptor: unknown): void;
  createTranslator(messages: unknown): (messageId: string) => string;
  readonly sharedOptions: Record<string, unknown>;
}
interface Rule {
  readonly meta: { readonly id: string; readonly type?: string };
  create(context: Context, options: Record<string, unknown>): { file?(source: Source): unknown };
}

/**
 * The version whose rules ANCHORS was written against (test/guards/rule-set.test.ts fails on
 * another installed version until ANCHORS is reviewed again: docs/credential-guard.md).
 */
export const ANCHORS_REVIEWED_FOR = '13.1.0';

/**
 * What each rule's patterns cannot match without (read from the rules of ANCHORS_REVIEWED_FOR):
 * a rule runs on a text only when its anchor occurs in it. Calling a rule costs 5–30 µs even on
 * an empty text (its regexes are built per call), so this keeps the synth fast; `null` marks a
 * rule that does not apply to strings (files of particular types, directives).
 */
export const ANCHORS: Readonly<Record<string, RegExp | null>> = {
  // AWS_SECRET_ACCESS_KEY=… (the ID scan, AKIA…, is off by default; ours covers it)
  '@secretlint/secretlint-rule-aws': /secret_?access_?key/i,
  // service account files (.json, .p12) only
  '@secretlint/secretlint-rule-gcp': null,
  '@secretlint/secretlint-rule-privatekey': /PRIVATE KEY/,
  '@secretlint/secretlint-rule-npm': /npm_|x-oauth-basic/,
  '@secretlint/secretlint-rule-basicauth': /:\/\/[^\s/]*@/,
  '@secretlint/secretlint-rule-slack': /xox[bpaor]-|xapp-|hooks\.slack\.com/i,
  '@secretlint/secretlint-rule-sendgrid': /SG\./,
  '@secretlint/secretlint-rule-shopify': /shp(pa|ca|at|ss)_/,
  '@secretlint/secretlint-rule-stripe': /[sr]k_(live|test)_/,
  '@secretlint/secretlint-rule-github': /gh[pousr]_|github_pat_/,
  '@secretlint/secretlint-rule-gitlab': /glpat-/,
  '@secretlint/secretlint-rule-grafana': /gl(c|sa)_/,
  '@secretlint/secretlint-rule-openai': /T3BlbkFJ/,
  '@secretlint/secretlint-rule-anthropic': /sk-ant-/,
  '@secretlint/secretlint-rule-groq': /gsk_/,
  '@secretlint/secretlint-rule-huggingface': /hf_/,
  '@secretlint/secretlint-rule-linear': /lin_api_/,
  '@secretlint/secretlint-rule-notion': /ntn_/,
  '@secretlint/secretlint-rule-1password': /ops_ey/,
  '@secretlint/secretlint-rule-database-connection-string': /(mongodb|mysql|postgres)[a-z+]*:\/\/[^\s/]*@/i,
  '@secretlint/secretlint-rule-hashicorp-vault': /hv[sbr]\./,
  '@secretlint/secretlint-rule-vercel': /vc[a-z]_/,
  '@secretlint/secretlint-rule-databricks': /dapi[0-9a-f]/i,
  '@secretlint/secretlint-rule-docker': /dckr_pat_/,
  '@secretlint/secretlint-rule-figma': /figd_/,
  '@secretlint/secretlint-rule-cloudflare': /(cfk|cfut|cfat)_/,
  '@secretlint/secretlint-rule-tailscale': /tskey-/,
  // secretlint-disable directives: a comment in config/ must not switch the guard off
  '@secretlint/secretlint-rule-filter-comments': null,
};

let sink: RuleSetHit[] = [];
/** Every rule of the preset, by id (tests check each against ANCHORS). */
export const PRESET_RULE_IDS: readonly string[] = (presetRules as unknown as Rule[]).map((rule) => rule.meta.id);
const scanners = (presetRules as unknown as Rule[])
  // A rule without an anchor entry runs on every candidate text (slow, never missed).
  .filter((rule) => ANCHORS[rule.meta.id] !== null)
  .map((rule) => {
    const context: Context = {
      report: ({ message, range }) => sink.push({ ruleId: rule.meta.id, messageId: String(message), start: range?.[0] ?? 0 }),
      ignore: () => undefined,
      // The translated message would hold the secret itself: keep the message id only.
      createTranslator: () => (messageId: string) => messageId,
      sharedOptions: {},
    };
    // Default options: no allow-lists; the AWS rule's ID scan is off (AKIA… is ours, below).
    return { id: rule.meta.id, anchor: ANCHORS[rule.meta.id], file: rule.create(context, {}).file };
  });

/**
 * Rules whose anchor spans more than one run of token characters (a URL's userinfo, a PEM
 * header): their anchors are tested on the whole text, all others only on the runs.
 */
const TEXT_ANCHORED = new Set(['privatekey', 'basicauth', 'database-connection-string', 'npm'].map((name) => `@secretlint/secretlint-rule-${name}`));
/** The anchors of the rules `ids` selects, as few regexes as their flags allow. */
function union(ids: (id: string) => boolean): RegExp[] {
  const byFlags = new Map<string, string[]>();
  for (const { id, anchor } of scanners) {
    if (anchor && ids(id)) byFlags.set(anchor.flags, [...(byFlags.get(anchor.flags) ?? []), `(?:${anchor.source})`]);
  }
  return [...byFlags].map(([flags, sources]) => new RegExp(sources.join('|'), flags));
}
const RUN_ANCHORS = union((id) => !TEXT_ANCHORED.has(id));
const TEXT_ANCHORS = union((id) => TEXT_ANCHORED.has(id));
const UNANCHORED = scanners.some((s) => s.anchor === undefined);

/**
 * Whether any rule of the set may find something in `text`, given its runs of 16+ token
 * characters (lib/guards/credentials.ts): cheap, so that most texts never reach the rules.
 */
export function mayMatchRuleSet(text: string, runs: readonly string[] | undefined): boolean {
  if (UNANCHORED) return true;
  if (runs) for (const run of runs) for (const anchors of RUN_ANCHORS) if (anchors.test(run)) return true;
  return TEXT_ANCHORS.some((anchors) => anchors.test(text));
}

/** Every finding of the rule set in `text`, in rule order. */
export function scanWithRuleSet(text: string): RuleSetHit[] {
  sink = [];
  // No file path or extension: rules for particular files (package.json, .npmrc, *.p12) treat
  // the text as plain content.
  const source: Source = { content: text, ext: '', contentType: 'text' };
  for (const scanner of scanners) {
    if (scanner.anchor && !scanner.anchor.test(text)) continue;
    const result = scanner.file?.(source);
    // Every scanner of the preset reports synchronously for text; an asynchronous one would report too late.
    if (result && typeof (result as Promise<unknown>).then === 'function') throw new Error(`${scanner.id} is asynchronous`);
  }
  const hits = sink;
  sink = [];
  return hits;
}
