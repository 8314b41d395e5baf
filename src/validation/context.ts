import type { StructureDefinitionContext } from '@medplum/fhirtypes';
import type { StructurePlan } from './plan.ts';
import type { Walk } from './walker.ts';

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
 * `fhirpath` contexts are not evaluated (accepted); `extension` contexts need an extension host.
 * Called with the extension pushed on the walk, so the host is one level up.
 */
export function checkExtensionContext(walk: Walk, ext: StructurePlan): void {
  const contexts = fixContexts(ext.url, ext.sd.context);
  if (!contexts?.length) return;
  const hostType = walk.hostTypes[walk.hostTypes.length - 2];
  if (hostType === undefined) return;
  if (walk.hostPaths.some((p) => FREE_ZONES.has(p))) return;
  const logical = walk.logicalPath();
  const hostPath = logical.slice(0, logical.lastIndexOf('.'));
  const defPath = walk.hostPaths[walk.hostPaths.length - 2] ?? hostType;
  const candidates = hostPath === defPath ? [hostPath] : [hostPath, defPath];
  for (const c of contexts) {
    if (c.type === 'fhirpath') return;
    if (c.type === 'extension') {
      if (hostType === 'Extension') return;
      continue;
    }
    const expr = (c.expression ?? '').slice((c.expression ?? '').indexOf('#') + 1).replace(/\[x\]/g, '');
    if (ANYWHERE.has(expr) || typeAncestors(walk, hostType).includes(expr)) return;
    if (expr === 'CanonicalResource' && CANONICAL_RESOURCES.has(hostType)) return;
    for (const p of candidates) {
      if (p.replace(/\[x\]/g, '') === expr || matchesViaAncestor(walk, p.replace(/\[x\]/g, ''), expr)) return;
    }
    const dot = expr.indexOf('.');
    if (dot > 0 && walk.hostTypes.includes(expr.slice(0, dot)) && hostPath.endsWith(expr.slice(dot))) return;
  }
  const allowed = contexts.map((c) => c.expression).join(', ');
  walk.report(
    'error',
    'structure',
    `The extension ${ext.url} is not allowed to be used at this point (allowed: ${allowed}; this element is ${hostPath || hostType} of type ${hostType})`,
  );
}

/** `Patient.contact` matches `DomainResource`-rooted contexts only as the whole path: `p`'s first segment's ancestors + rest. */
function matchesViaAncestor(walk: Walk, p: string, expr: string): boolean {
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

function typeAncestors(walk: Walk, type: string): string[] {
  let byType = ancestorCache.get(walk.compiler);
  if (!byType) {
    byType = new Map();
    ancestorCache.set(walk.compiler, byType);
  }
  const cached = byType.get(type);
  if (cached) return cached;
  const out = [type];
  let plan = walk.compiler.typePlan(type);
  for (let guard = 0; plan && guard < 10; guard++) {
    const base = plan.sd.baseDefinition;
    if (!base) break;
    plan = walk.compiler.plan(base);
    if (plan) out.push(plan.type);
  }
  byType.set(type, out);
  return out;
}
