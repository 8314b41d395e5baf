import { createRequire } from 'node:module';
import type { StructureDefinitionContext } from '@medplum/fhirtypes';
import type { CompiledStructure } from '../compiled.ts';
import type { CheckContext } from './context.ts';
import { evaluatorSaid } from './invariants.ts';

/** Contexts that allow an extension on any element. */
const ANYWHERE = new Set(['Element', 'Base', 'Any']);
/** Inside these ElementDefinition values every extension is allowed (they carry instance data). */
const FREE_ZONES = new Set([
  'ElementDefinition.example.value[x]',
  'ElementDefinition.pattern[x]',
  'ElementDefinition.fixed[x]',
]);
const CANONICAL_RESOURCES = new Set([
  'ActivityDefinition',
  'CapabilityStatement',
  'ChargeItemDefinition',
  'CodeSystem',
  'CompartmentDefinition',
  'ConceptMap',
  'EffectEvidenceSynthesis',
  'EventDefinition',
  'Evidence',
  'EvidenceVariable',
  'ExampleScenario',
  'GraphDefinition',
  'ImplementationGuide',
  'Library',
  'Measure',
  'MessageDefinition',
  'NamingSystem',
  'OperationDefinition',
  'PlanDefinition',
  'Questionnaire',
  'ResearchDefinition',
  'ResearchElementDefinition',
  'RiskEvidenceSynthesis',
  'SearchParameter',
  'StructureDefinition',
  'StructureMap',
  'TerminologyCapabilities',
  'TestScript',
  'ValueSet',
]);

/**
 * Checks StructureDefinition.context of an extension against where it is used, as the HL7 validator does:
 * an `element` context matches the host's instance path or definition path (a contentReference's target,
 * a datatype's own element path), with the first segment replaced by any ancestor type; `Element`/`Any`
 * match anywhere, `Resource`/`DomainResource`/`CanonicalResource` match a resource of that kind.
 * A `fhirpath` context holds where the expression, evaluated on the resource, selects the host; an
 * `extension` context where the nearest enclosing extension (the host or, for an extension on an
 * extension's value, its holder) has that url.
 * Called with the extension pushed on the walk, so the host is one level up.
 */
export function checkExtensionContext(walk: CheckContext, ext: CompiledStructure): void {
  if (!contextAllowed(walk, ext)) return;
  for (const inv of ext.sd.contextInvariant ?? []) checkContextInvariant(walk, ext.url, inv);
}

/** The element/fhirpath/extension contexts; reports and returns false on a mismatch. */
function contextAllowed(walk: CheckContext, ext: CompiledStructure): boolean {
  const contexts = fixContexts(ext.url, ext.sd.context);
  if (!contexts?.length) return true;
  const hostType = walk.at.hostTypes[walk.at.hostTypes.length - 2];
  if (hostType === undefined) return true;
  if (walk.at.hostPaths.some((p) => FREE_ZONES.has(p))) return true;
  const logical = walk.at.logicalPath();
  const hostPath = logical.slice(0, logical.lastIndexOf('.'));
  const defPath = walk.at.hostPaths[walk.at.hostPaths.length - 2] ?? hostType;
  const candidates = hostPath === defPath ? [hostPath] : [hostPath, defPath];
  for (const c of contexts) {
    if (c.type === 'fhirpath') {
      if (fhirPathContextHolds(walk, ext.url, c.expression ?? '')) return true;
      continue;
    }
    if (c.type === 'extension') {
      if (withinExtension(walk, c.expression ?? '')) return true;
      continue;
    }
    const expr = (c.expression ?? '').slice((c.expression ?? '').indexOf('#') + 1).replace(/\[x\]/g, '');
    if (ANYWHERE.has(expr) || typeAncestors(walk, hostType).includes(expr)) return true;
    if (expr === 'CanonicalResource' && CANONICAL_RESOURCES.has(hostType)) return true;
    for (const p of candidates) {
      if (p.replace(/\[x\]/g, '') === expr || matchesViaAncestor(walk, p.replace(/\[x\]/g, ''), expr))
        return true;
    }
    const dot = expr.indexOf('.');
    if (dot > 0 && walk.at.hostTypes.includes(expr.slice(0, dot)) && hostPath.endsWith(expr.slice(dot)))
      return true;
  }
  const allowed = contexts.map((c) => c.expression).join(', ');
  walk.report(
    'error',
    'structure',
    `The extension ${ext.url} is not allowed to be used at this point (allowed: ${allowed}; this element is ${hostPath || hostType} of type ${hostType})`,
  );
  return false;
}

type FhirPathFn = (node: unknown) => unknown[];
/** Compiled expressions (or why one did not compile), per result mode; fhirpath.js is loaded on first use. */
const compiledExpressions = {
  values: new Map<string, FhirPathFn | Error>(),
  nodes: new Map<string, FhirPathFn | Error>(),
};

/**
 * fhirpath.js's function for `expression`, compiled once; throws (every time) when it does not compile.
 * `nodes`: results as fhirpath.js's nodes (`data`, `_data`) rather than plain values.
 */
function compiledFhirPath(expression: string, nodes: boolean): FhirPathFn {
  const cache = nodes ? compiledExpressions.nodes : compiledExpressions.values;
  let fn = cache.get(expression);
  if (fn === undefined) {
    const require = createRequire(import.meta.url);
    const fhirpath = require('fhirpath') as {
      compile(e: string, model: unknown, options: { resolveInternalTypes: boolean }): FhirPathFn;
    };
    try {
      fn = fhirpath.compile(expression, require('fhirpath/fhir-context/r4'), {
        resolveInternalTypes: !nodes,
      });
    } catch (e) {
      fn = e instanceof Error ? e : new Error(String(e));
    }
    cache.set(expression, fn);
  }
  if (fn instanceof Error) throw fn;
  return fn;
}

/** The nearest extension around the host (the host itself first) has the url `expression`. */
function withinExtension(walk: CheckContext, expression: string): boolean {
  const { hostTypes, hostNodes } = walk.at;
  const wanted = expression.split('|')[0];
  for (let i = hostTypes.length - 2; i >= 0; i--) {
    if (hostTypes[i] === 'Extension') return (hostNodes[i] as { url?: unknown })?.url === wanted;
  }
  return false;
}

/** A FHIRPath result node as fhirpath.js gives it with `resolveInternalTypes: false`. */
interface ResultNode {
  data?: unknown;
  _data?: unknown;
}

/**
 * Whether the `fhirpath` context `expression`, evaluated on the resource holding the extension (then
 * on the root resource), selects the element that holds it: the same JSON object, or for a primitive
 * its `_name` object. One that cannot be compiled or evaluated is a warning and holds (never refuses).
 */
function fhirPathContextHolds(walk: CheckContext, url: string, expression: string): boolean {
  const depth = walk.at.hostNodes.length - 2;
  const host = walk.at.hostNodes[depth];
  const companion = walk.at.hostCompanions[depth];
  const isHost = (n: ResultNode) =>
    companion !== undefined ? n?._data === companion : n?.data === host || (n as unknown) === host;
  try {
    const fn = compiledFhirPath(expression, true);
    for (const resource of new Set([walk.resource, walk.rootResource])) {
      if (resource && (fn(resource) as ResultNode[]).some(isHost)) return true;
    }
    return false;
  } catch (e) {
    walk.report(
      'warning',
      'processing',
      `The fhirpath context '${expression}' of ${url} could not be evaluated: ${evaluatorSaid(walk, (e as Error).message)}`,
    );
    return true;
  }
}

/**
 * StructureDefinition.contextInvariant: a FHIRPath expression evaluated on the element that holds the
 * extension; false is an error. One that cannot be evaluated is a warning.
 */
function checkContextInvariant(walk: CheckContext, url: string, expression: string): void {
  const host = walk.at.hostNodes[walk.at.hostNodes.length - 2];
  if (host === undefined) return;
  try {
    const result = compiledFhirPath(expression, false)(host);
    const ok =
      result.length === 0 ? false : result.length === 1 && typeof result[0] === 'boolean' ? result[0] : true;
    if (!ok) {
      walk.report(
        'error',
        'invariant',
        `The extension ${url} is not allowed to be used here: its context invariant '${expression}' is not satisfied`,
      );
    }
  } catch (e) {
    walk.report(
      'warning',
      'processing',
      `The context invariant '${expression}' of ${url} could not be evaluated: ${evaluatorSaid(walk, (e as Error).message)}`,
    );
  }
}

/** `Patient.contact` matches `DomainResource`-rooted contexts only as the whole path: `p`'s first segment's ancestors + rest. */
function matchesViaAncestor(walk: CheckContext, p: string, expr: string): boolean {
  const dot = p.indexOf('.');
  const head = dot < 0 ? p : p.slice(0, dot);
  const rest = dot < 0 ? '' : p.slice(dot);
  if (!expr.endsWith(rest)) return false;
  return typeAncestors(walk, head).some((t) => t + rest === expr);
}

/**
 * Corrections the HL7 validator applies to R4 core extension contexts that the core definitions themselves
 * break (the published contexts are too narrow for how R4 uses them).
 */
function fixContexts(
  url: string,
  contexts: StructureDefinitionContext[] | undefined,
): StructureDefinitionContext[] | undefined {
  switch (url) {
    case 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type':
      return [{ type: 'element', expression: 'ElementDefinition.type' }, ...(contexts ?? [])];
    case 'http://hl7.org/fhir/StructureDefinition/regex':
      return [...(contexts ?? []), { type: 'element', expression: 'ElementDefinition.type' }];
    case 'http://hl7.org/fhir/StructureDefinition/structuredefinition-normative-version':
    case 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-expectation':
    case 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-prohibited':
      return [{ type: 'element', expression: 'Element' }];
    default:
      return contexts;
  }
}

const ancestorCache = new WeakMap<object, Map<string, string[]>>();

function typeAncestors(walk: CheckContext, type: string): string[] {
  let byType = ancestorCache.get(walk.compiler);
  if (!byType) {
    byType = new Map();
    ancestorCache.set(walk.compiler, byType);
  }
  const cached = byType.get(type);
  if (cached) return cached;
  const out = [type];
  let structure = walk.compiler.typeStructure(type);
  for (let guard = 0; structure && guard < 10; guard++) {
    const base = structure.sd.baseDefinition;
    if (!base) break;
    structure = walk.compiler.structure(base);
    if (structure) out.push(structure.type);
  }
  byType.set(type, out);
  return out;
}
