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
 * An error's OperationOutcome as it leaves the server, every HETU-shaped part masked — in diagnostics,
 * expression and location: the last net for texts that quote what the caller sent (an id in "Type/id
 * not found", a driver's message, a property or parameter name the caller wrote as an element). The
 * write path's validator already leaves values out of its own messages; this catches the rest.
 */
export function maskedOutcome(oo: OperationOutcome): OperationOutcome {
  if (!oo.issue?.some(quotesHetu)) return oo;
  return { ...oo, issue: oo.issue.map((i) => (quotesHetu(i) ? maskedIssue(i) : i)) };
}

const masks = (text: string) => maskHetus(text) !== text;

function quotesHetu(i: OperationOutcomeIssue): boolean {
  return (
    (i.diagnostics !== undefined && masks(i.diagnostics)) ||
    (i.expression ?? []).some(masks) ||
    (i.location ?? []).some(masks)
  );
}

function maskedIssue(i: OperationOutcomeIssue): OperationOutcomeIssue {
  return {
    ...i,
    ...(i.diagnostics !== undefined ? { diagnostics: maskHetus(i.diagnostics) } : {}),
    ...(i.expression ? { expression: i.expression.map(maskHetus) } : {}),
    ...(i.location ? { location: i.location.map(maskHetus) } : {}),
  };
}
