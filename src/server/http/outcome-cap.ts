import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { maskHetus } from '../../domain/index.ts';
import { issue } from '../../shared/outcome.ts';

/**
 * An OperationOutcome with at most `max` issues: the rest are counted by severity and code in one
 * closing issue, so a hostile body's hundreds of thousands of issues cost neither memory nor a client.
 */
export function capOutcome(oo: OperationOutcome, max: number): OperationOutcome {
  const issues = oo.issue ?? [];
  if (issues.length <= max) return oo;
  const counts = new Map<string, number>();
  for (let i = max; i < issues.length; i++) {
    const key = `${issues[i].severity} ${issues[i].code}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const summary = [...counts].map(([k, n]) => `${n} × ${k}`).join(', ');
  const kept: OperationOutcomeIssue[] = issues.slice(0, max);
  kept.push(issue('information', 'too-costly', `${issues.length - max} more issues not listed (${summary})`));
  return { ...oo, issue: kept };
}

/**
 * An error's OperationOutcome as it leaves the server, every HETU-shaped part masked: the last net
 * for texts that quote what the caller sent (an id in "Type/id not found", a driver's message). The
 * write path's validator already leaves values out of its own messages; this catches the rest.
 */
export function maskedOutcome(oo: OperationOutcome): OperationOutcome {
  if (!oo.issue?.some((i) => i.diagnostics && maskHetus(i.diagnostics) !== i.diagnostics)) return oo;
  return {
    ...oo,
    issue: oo.issue.map((i) => (i.diagnostics ? { ...i, diagnostics: maskHetus(i.diagnostics) } : i)),
  };
}
