// Rules between conformance resources (R4 searchparameter.html, capabilitystatement.html): a
// SearchParameter derived from another keeps its type and only the parent's bases; a
// CapabilityStatement's searchParam has the type of the SearchParameter it names.
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

function searchParameter(ctx: CheckContext, canonical: unknown): Json | undefined {
  if (typeof canonical !== 'string') return undefined;
  const r =
    ctx.compiler.registry.resolve(canonical) ?? ctx.compiler.registry.resolve(canonical.split('|')[0]!);
  return r?.resourceType === 'SearchParameter' ? (r as unknown as Json) : undefined;
}

export function checkSearchParameter(ctx: CheckContext, sp: Json): void {
  const parent = searchParameter(ctx, sp.derivedFrom);
  if (!parent) return;
  if (typeof sp.type === 'string' && typeof parent.type === 'string' && sp.type !== parent.type) {
    ctx.report(
      'error',
      'business-rule',
      `SearchParameter.type '${sp.type}' differs from the type '${parent.type}' of the SearchParameter it is derived from`,
      'type',
    );
  }
  const parentBases = Array.isArray(parent.base) ? parent.base : [];
  const bases = Array.isArray(sp.base) ? sp.base : [];
  for (let i = 0; i < bases.length; i++) {
    if (
      typeof bases[i] === 'string' &&
      !parentBases.includes(bases[i]) &&
      !parentBases.includes('Resource')
    ) {
      ctx.report(
        'error',
        'business-rule',
        `SearchParameter.base '${bases[i]}' is not a base of the SearchParameter it is derived from (${parentBases.join(', ')})`,
        `base[${i}]`,
      );
    }
  }
}

export function checkCapabilityStatement(ctx: CheckContext, cs: Json): void {
  const rests = Array.isArray(cs.rest) ? cs.rest : [];
  for (let r = 0; r < rests.length; r++) {
    const rest = rests[r];
    if (!isObject(rest)) continue;
    checkSearchParams(ctx, rest.searchParam, `rest[${r}]`);
    const resources = Array.isArray(rest.resource) ? rest.resource : [];
    for (let i = 0; i < resources.length; i++)
      if (isObject(resources[i]))
        checkSearchParams(ctx, resources[i].searchParam, `rest[${r}].resource[${i}]`);
  }
}

function checkSearchParams(ctx: CheckContext, list: unknown, where: string): void {
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (!isObject(p) || typeof p.type !== 'string') continue;
    const def = searchParameter(ctx, p.definition);
    if (def && typeof def.type === 'string' && def.type !== p.type) {
      ctx.report(
        'error',
        'business-rule',
        `searchParam '${String(p.name)}' has type '${p.type}', but its SearchParameter has type '${def.type}'`,
        `${where}.searchParam[${i}].type`,
      );
    }
  }
}
