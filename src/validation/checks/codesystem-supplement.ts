// A CodeSystem supplement adds designations and properties to the concepts of another code system; it
// cannot define new codes (R4 codesystem.html#supplements). So every concept code of a supplement must
// be a code of the supplemented CodeSystem, when that one is held here with all its concepts. A
// supplement says so twice, and the two must agree: `supplements` names the code system and `content`
// is `supplement` (the HL7 validator refuses either without the other).
import type { CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';

export function checkCodeSystemSupplement(ctx: CheckContext, cs: Json): void {
  checkSupplementMarkers(ctx, cs);
  if (typeof cs.supplements !== 'string') return;
  const base = ctx.compiler.registry.codeSystem(cs.supplements.split('|')[0]!);
  if (!base || base.content !== 'complete') return;
  const known = new Set<string>();
  collect(base.concept, known);
  checkConcepts(ctx, cs.concept, 'concept', known, base);
}

function checkSupplementMarkers(ctx: CheckContext, cs: Json): void {
  const names = typeof cs.supplements === 'string';
  if (names && cs.content !== 'supplement') {
    ctx.report(
      'error',
      'business-rule',
      `A CodeSystem that supplements '${cs.supplements}' must have content = 'supplement'`,
      'content',
    );
  } else if (!names && cs.content === 'supplement') {
    ctx.report(
      'error',
      'business-rule',
      "A CodeSystem with content = 'supplement' must name the code system it supplements (CodeSystem.supplements)",
      'supplements',
    );
  }
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
