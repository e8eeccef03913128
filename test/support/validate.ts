/**
 * Validators for generated output, against real schemas:
 * - Kubernetes objects: kubernetes-models (full OpenAPI validation: required fields, types,
 *   formats) plus a strict walk over the Kubernetes 1.28 API models of @kubernetes/client-node
 *   0.20 (the 1.28 release), which rejects any field 1.28 does not know.
 * - Custom resources: the openAPIV3Schema of the CRD files in crds/ (PodMonitor, PrometheusRule,
 *   ExternalSecret, Argo CD and Flux objects),
 *   and no field the structural schema does not declare.
 * - config.toml: reference/gitlab-runner-config.schema.json (gitlab-runner 19.3; source in reference/README.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clientModels: Record<string, unknown> = require('@kubernetes/client-node/dist/gen/model/models.js');

type Validator = new (data: unknown) => { validate(): void };
const KUBERNETES_MODELS: Record<string, () => Validator> = {
  'v1/Namespace': () => require('kubernetes-models/v1').Namespace,
  'v1/ServiceAccount': () => require('kubernetes-models/v1').ServiceAccount,
  'v1/ConfigMap': () => require('kubernetes-models/v1').ConfigMap,
  'v1/Service': () => require('kubernetes-models/v1').Service,
  'v1/ResourceQuota': () => require('kubernetes-models/v1').ResourceQuota,
  'v1/LimitRange': () => require('kubernetes-models/v1').LimitRange,
  'apps/v1/Deployment': () => require('kubernetes-models/apps/v1').Deployment,
  'apps/v1/DaemonSet': () => require('kubernetes-models/apps/v1').DaemonSet,
  'scheduling.k8s.io/v1/PriorityClass': () => require('kubernetes-models/scheduling.k8s.io/v1').PriorityClass,
  'networking.k8s.io/v1/NetworkPolicy': () => require('kubernetes-models/networking.k8s.io/v1').NetworkPolicy,
  'rbac.authorization.k8s.io/v1/Role': () => require('kubernetes-models/rbac.authorization.k8s.io/v1').Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': () => require('kubernetes-models/rbac.authorization.k8s.io/v1').RoleBinding,
};

const CRD_DIR = path.join(__dirname, '..', '..', 'crds');
// Copied into the repository with its source noted (reference/README.md).
const RUNNER_SCHEMA = path.join(__dirname, '..', '..', 'reference', 'gitlab-runner-config.schema.json');

interface ObjectLike {
  apiVersion: string;
  kind: string;
  [key: string]: unknown;
}

/** Problems of one object against the Kubernetes 1.28 API or its CRD; empty when valid. */
export function validateObject(object: ObjectLike): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const crd = crdValidators().get(key);
  if (crd) {
    const problems = crd(object) ? [] : (crd.errors ?? []).map((e) => `${key} ${e.instancePath || '/'} ${e.message}`);
    // The API server prunes fields a structural schema does not declare: for us they are errors.
    strictCrdWalk(object, crdSchemas.get(key), '', problems);
    return problems;
  }
  const model = KUBERNETES_MODELS[key];
  if (!model) return [`${key}: no schema known for this kind; add it to test/support/validate.ts`];
  const problems: string[] = [];
  try {
    new (model())(object).validate();
  } catch (error) {
    problems.push(`${key}: ${(error as Error).message}`);
  }
  const version = object.apiVersion.split('/').pop()!;
  const className = `${version.charAt(0).toUpperCase()}${version.slice(1)}${object.kind}`;
  strictWalk(object, className, '', problems);
  return problems;
}

interface Attribute {
  name: string;
  baseName: string;
  type: string;
}

/** Rejects fields that the Kubernetes 1.28 model of this type does not have. */
function strictWalk(value: unknown, type: string, at: string, problems: string[]): void {
  if (value === undefined || value === null) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) problems.push(`${at}: expected a list`);
    else value.forEach((item, i) => strictWalk(item, array[1], `${at}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object') problems.push(`${at}: expected a map`);
    else for (const [k, v] of Object.entries(value)) strictWalk(v, map[1], `${at}.${k}`, problems);
    return;
  }
  if (['string', 'number', 'boolean'].includes(type)) {
    if (typeof value !== type) problems.push(`${at}: expected ${type}, got ${JSON.stringify(value)}`);
    return;
  }
  if (['any', 'object', 'Date', 'IntOrString'].includes(type)) return;
  const cls = clientModels[type] as { getAttributeTypeMap?: () => Attribute[] } | undefined;
  if (!cls?.getAttributeTypeMap) {
    problems.push(`${at}: unknown model type ${type}`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${at}: expected an object of type ${type}`);
    return;
  }
  const attributes = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a]));
  for (const [field, child] of Object.entries(value)) {
    const attribute = attributes.get(field);
    if (!attribute) problems.push(`${at}.${field}: unknown field in Kubernetes 1.28 ${type}`);
    else strictWalk(child, attribute.type, `${at}.${field}`, problems);
  }
}

interface OpenApiSchema {
  type?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: boolean | OpenApiSchema;
  items?: OpenApiSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** Rejects fields that the CRD's structural schema does not declare (the API server would drop them). */
function strictCrdWalk(value: unknown, schema: OpenApiSchema | undefined, at: string, problems: string[]): void {
  if (!schema || value === null || typeof value !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => strictCrdWalk(item, schema.items, `${at}[${i}]`, problems));
    return;
  }
  for (const [field, child] of Object.entries(value)) {
    const declared = schema.properties?.[field];
    if (declared) strictCrdWalk(child, declared, `${at}.${field}`, problems);
    else if (typeof schema.additionalProperties === 'object') strictCrdWalk(child, schema.additionalProperties, `${at}.${field}`, problems);
    else if (schema.properties && schema.additionalProperties !== true) problems.push(`${at}.${field}: unknown field in the CRD schema`);
  }
}

/**
 * CRD patterns are Go (RE2) regular expressions; some set flags inline, which JavaScript cannot
 * (the PrometheusRule CRD: `^(?i)(abort|warn)?$`). A leading or inner `(?i)` becomes the `i` flag.
 */
const goRegExp = Object.assign(
  (pattern: string, flags: string) => (pattern.includes('(?i)') ? new RegExp(pattern.replace(/\(\?i\)/g, ''), `${flags}i`) : new RegExp(pattern, flags)),
  { code: 'goRegExp' },
);

const crdSchemas = new Map<string, OpenApiSchema>();
let crdCache: Map<string, ReturnType<Ajv['compile']>> | undefined;
function crdValidators(): Map<string, ReturnType<Ajv['compile']>> {
  if (crdCache) return crdCache;
  crdCache = new Map();
  // OpenAPI v3 schemas with x-kubernetes-* extensions: not strict JSON Schema keywords.
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: goRegExp } });
  addFormats(ajv);
  for (const file of fs.readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    const crd = parseYaml(fs.readFileSync(path.join(CRD_DIR, file), 'utf8'));
    for (const version of crd.spec.versions) {
      const schema = version.schema.openAPIV3Schema;
      crdCache.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema));
      crdSchemas.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, schema);
    }
  }
  return crdCache;
}

let runnerValidator: ReturnType<Ajv2020['compile']> | undefined;

/** Problems of a rendered config.toml against gitlab-runner 19.3's schema; empty when valid. */
export function validateRunnerToml(text: string): string[] {
  if (!runnerValidator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    runnerValidator = ajv.compile(JSON.parse(fs.readFileSync(RUNNER_SCHEMA, 'utf8')));
  }
  const data = JSON.parse(JSON.stringify(parseToml(text)));
  if (runnerValidator(data)) return [];
  return (runnerValidator.errors ?? []).map((e) => `$${e.instancePath.replace(/\//g, '.')} ${e.message} ${JSON.stringify(e.params)}`);
}
