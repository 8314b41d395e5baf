import type { StructurePlan } from './plan.ts';
import type { Walk } from './walker.ts';

const ANYWHERE = new Set(['Element', 'Base', 'Resource', 'DomainResource', 'BackboneElement']);

/**
 * Checks StructureDefinition.context of an extension against where it is used: the type of the element
 * holding it (or one of that type's ancestors) or its element path. Called with the extension pushed on
 * the walk, so the host is one level up.
 */
export function checkExtensionContext(walk: Walk, ext: StructurePlan): void {
  const contexts = ext.sd.context;
  if (!contexts?.length) return;
  const hostType = walk.hostTypes[walk.hostTypes.length - 2];
  if (hostType === undefined) return;
  const logical = walk.logicalPath();
  const hostPath = logical.slice(0, logical.lastIndexOf('.'));
  const ancestors = typeAncestors(walk, hostType);
  for (const c of contexts) {
    if (c.type === 'fhirpath') return;
    const raw = c.expression ?? '';
    if (c.type === 'extension') {
      if (hostType === 'Extension') return;
      continue;
    }
    const expr = raw.slice(raw.indexOf('#') + 1).replace(/\[x\]/g, '');
    if (ANYWHERE.has(expr) || ancestors.includes(expr) || expr === hostPath) return;
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

function typeAncestors(walk: Walk, type: string): string[] {
  const out = [type];
  let plan = walk.compiler.typePlan(type);
  for (let guard = 0; plan && guard < 10; guard++) {
    const base = plan.sd.baseDefinition;
    if (!base) break;
    plan = walk.compiler.plan(base);
    if (plan) out.push(plan.type);
  }
  return out;
}
