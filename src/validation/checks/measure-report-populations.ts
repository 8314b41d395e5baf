// The populations of a MeasureReport group against the Measure's group (R4 measurereport.html):
// each population code names a population of that group, once; outside data-collection reports every
// population the Measure's group defines is reported; a count agrees with its subjectResults when
// that List is contained. Stratum populations name populations of the group too.
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';
import { type Concept, list, sameConcept, show } from './measure-codes.ts';

export function checkGroupPopulations(
  ctx: CheckContext,
  report: Json,
  group: Json,
  measureGroup: Json,
  at: string,
): void {
  const defined = list(measureGroup.population).map((p) => p.code as Concept);
  if (!defined.length || defined.some((c) => !c?.coding?.length)) return; // populations without codes: not judged
  const pops = list(group.population);
  checkCodes(ctx, pops, defined, `${at}.population`, 'MeasureReport.group.population.code');
  if (report.type !== 'data-collection') {
    for (const d of defined) {
      if (pops.some((p) => sameConcept(p.code as Concept, d))) continue;
      ctx.report(
        'error',
        'business-rule',
        `MeasureReport.group.population: the group has no population with the code ${show(d)} that the Measure's group defines`,
        at,
      );
    }
  }
  pops.forEach((p, k) => checkCount(ctx, report, p, `${at}.population[${k}]`));
  list(group.stratifier).forEach((s, j) =>
    list(s.stratum).forEach((st, m) => {
      const where = `${at}.stratifier[${j}].stratum[${m}].population`;
      checkCodes(
        ctx,
        list(st.population),
        defined,
        where,
        'MeasureReport.group.stratifier.stratum.population.code',
      );
    }),
  );
}

/** Each population code names one of `defined`, and appears once. */
function checkCodes(ctx: CheckContext, pops: Json[], defined: Concept[], at: string, rule: string): void {
  const seen: Concept[] = [];
  pops.forEach((p, k) => {
    const code = p.code as Concept;
    if (!code?.coding?.length) return;
    if (!defined.some((d) => sameConcept(code, d))) {
      ctx.report(
        'error',
        'business-rule',
        `${rule}: the code ${show(code)} does not name a population of the Measure's group`,
        `${at}[${k}].code`,
      );
    } else if (seen.some((c) => sameConcept(code, c))) {
      ctx.report(
        'error',
        'business-rule',
        `${rule}: the population ${show(code)} is reported more than once`,
        `${at}[${k}].code`,
      );
    }
    seen.push(code);
  });
}

/** `count` equals the number of entries of the contained List its `subjectResults` names. */
function checkCount(ctx: CheckContext, report: Json, pop: Json, at: string): void {
  const ref = isObject(pop.subjectResults) ? pop.subjectResults.reference : undefined;
  if (typeof pop.count !== 'number' || typeof ref !== 'string' || !ref.startsWith('#')) return;
  const target = list(report.contained).find((c) => `#${c.id}` === ref);
  if (target?.resourceType !== 'List') return;
  const entries = list(target.entry).length;
  if (entries === pop.count) return;
  ctx.report(
    'error',
    'business-rule',
    `MeasureReport.group.population.count: the count ${pop.count} differs from the ${entries} entries of its subjectResults List '${ref}'`,
    `${at}.count`,
  );
}
