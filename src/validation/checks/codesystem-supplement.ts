// A CodeSystem supplement adds designations and properties to the concepts of another code system; it
// cannot define new codes (R4 codesystem.html#supplements). So every concept code of a supplement must
// be a code of the supplemented CodeSystem, when that one is held here with all its concepts.
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

export function checkCodeSystemSupplement(ctx: CheckContext, cs: Json): void {
  if (typeof cs.supplements !== 'string') return;
  const base = ctx.compiler.registry.codeSystem(cs.supplements.split('|')[0]!);
  if (!base || base.content !== 'complete') return;
  const known = new Set<string>();
  collect(base.concept, known);
  checkConcepts(ctx, cs.concept, 'concept', known, base);
}

function collect(concepts: CodeSystemConcept[] | undefined, into: Set<string>): void {
  for (const c of concepts ?? []) {
    if (typeof c.code === 'string') into.add(c.code);
    collect(c.concept, into);
  }
}

function checkConcepts(
  ctx: CheckContext,
  list: unknown,
  at: string,
  known: Set<string>,
  base: CodeSystem,
): void {
  if (!Array.isArray(list)) return;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (!isObject(c)) continue;
    if (typeof c.code === 'string' && !known.has(c.code)) {
      ctx.report(
        'error',
        'business-rule',
        `The code '${c.code}' is not defined in the supplemented CodeSystem '${base.url}', so a supplement cannot declare it`,
        `${at}[${i}]`,
      );
    }
    checkConcepts(ctx, c.concept, `${at}[${i}].concept`, known, base);
  }
}
