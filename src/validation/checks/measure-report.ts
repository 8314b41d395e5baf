// A MeasureReport against the Measure it reports on (R4 measurereport.html), when that Measure is in
// the registry or contained: no measureScore when the Measure's scoring is `cohort`; each group code
// names a group of the Measure; each stratifier code names a stratifier of that group. Populations
// (group and stratum) are in measure-report-populations.ts, stratum counts in measure-report-strata.ts.
import { type Json, isObject } from '../util.ts';
import type { CheckContext } from './context.ts';
import { type Concept, list, sameConcept, show } from './measure-codes.ts';
import { checkGroupPopulations } from './measure-report-populations.ts';
import { checkStratumCounts } from './measure-report-strata.ts';

function measureOf(ctx: CheckContext, report: Json): Json | undefined {
  const url = report.measure;
  if (typeof url !== 'string') return undefined;
  if (url.startsWith('#') && Array.isArray(report.contained)) {
    const found = report.contained.find((c) => isObject(c) && `#${c.id}` === url);
    return isObject(found) && found.resourceType === 'Measure' ? found : undefined;
  }
  const registry = ctx.compiler.registry;
  const r = registry.resolve(url) ?? registry.resolve(url.split('|')[0]!);
  return r?.resourceType === 'Measure' ? (r as unknown as Json) : undefined;
}

export function checkMeasureReport(ctx: CheckContext, report: Json): void {
  list(report.group).forEach((g, i) => checkStratumCounts(ctx, g, `group[${i}]`));
  const measure = measureOf(ctx, report);
  if (!measure) return;
  const scoring = (measure.scoring as Concept)?.coding?.find((c) => c.system?.endsWith('/measure-scoring'));
  const measureGroups = list(measure.group);
  const groups = list(report.group);
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (scoring?.code === 'cohort' && g.measureScore !== undefined) {
      ctx.report(
        'error',
        'business-rule',
        `MeasureReport.group.measureScore: no measureScore when the scoring of the Measure is 'cohort'`,
        `group[${i}].measureScore`,
      );
    }
    const code = g.code as Concept;
    let match = measureGroups.length === 1 && !code ? measureGroups[0] : undefined;
    if (code?.coding?.length && measureGroups.some((m) => m.code)) {
      match = measureGroups.find((m) => sameConcept(code, m.code as Concept));
      if (!match) {
        ctx.report(
          'error',
          'business-rule',
          `MeasureReport.group.code: the code ${show(code)} does not name a group of the Measure '${String(report.measure)}'`,
          `group[${i}].code`,
        );
      }
    }
    if (match) {
      checkStratifiers(ctx, g, match, i);
      checkGroupPopulations(ctx, report, g, match, `group[${i}]`);
    }
  }
}

function checkStratifiers(ctx: CheckContext, group: Json, measureGroup: Json, i: number): void {
  const all = list(measureGroup.stratifier);
  if (!all.length || all.some((s) => !s.code)) return; // stratifiers by components only: not judged
  const defined = all.map((s) => s.code as Concept);
  const stratifiers = list(group.stratifier);
  for (let j = 0; j < stratifiers.length; j++) {
    const codes = Array.isArray(stratifiers[j]!.code) ? (stratifiers[j]!.code as Concept[]) : [];
    for (let k = 0; k < codes.length; k++) {
      if (!codes[k]?.coding?.length || defined.some((d) => sameConcept(codes[k], d))) continue;
      ctx.report(
        'error',
        'business-rule',
        `MeasureReport.group.stratifier.code: the code ${show(codes[k])} does not name a stratifier of the Measure's group`,
        `group[${i}].stratifier[${j}].code[${k}]`,
      );
    }
  }
}
