// Stratum population counts of a MeasureReport group against the group's own counts (R4
// measurereport.html): the strata of one stratifier split the group's population by the stratifier's
// value, so no stratum counts more than the group for the same population code, and the strata of a
// stratifier together count no more than the group (fewer is fine: a subject may have no value).
// Judged without the Measure; populations without a code or a count are not judged.
import type { Json } from '../util.ts';
import type { CheckContext } from './context.ts';
import { type Concept, list, sameConcept, show } from './measure-codes.ts';

export function checkStratumCounts(ctx: CheckContext, group: Json, at: string): void {
  const totals = list(group.population).filter(
    (p) => typeof p.count === 'number' && (p.code as Concept)?.coding?.length,
  );
  if (!totals.length) return;
  list(group.stratifier).forEach((s, j) => {
    const sums = new Array<number>(totals.length).fill(0);
    list(s.stratum).forEach((st, m) =>
      list(st.population).forEach((p, k) => {
        if (typeof p.count !== 'number') return;
        const t = totals.findIndex((g) => sameConcept(g.code as Concept, p.code as Concept));
        if (t < 0) return;
        sums[t] += p.count;
        if (p.count <= (totals[t].count as number)) return;
        ctx.report(
          'error',
          'business-rule',
          `MeasureReport.group.stratifier.stratum.population.count: ${p.count} is more than the group's count ${String(totals[t].count)} for ${show(p.code as Concept)}`,
          `${at}.stratifier[${j}].stratum[${m}].population[${k}].count`,
        );
      }),
    );
    totals.forEach((g, t) => {
      if (sums[t] <= (g.count as number)) return;
      ctx.report(
        'error',
        'business-rule',
        `MeasureReport.group.stratifier: the strata count ${sums[t]} in all for ${show(g.code as Concept)}, more than the group's count ${String(g.count)}`,
        `${at}.stratifier[${j}]`,
      );
    });
  });
}
