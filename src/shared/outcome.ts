import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

/** One issue, the shape every stage reports problems in. */
export function issue(
  severity: IssueSeverity,
  code: IssueCode,
  diagnostics: string,
  expression?: string | string[],
): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression !== undefined) {
    const list = Array.isArray(expression) ? expression : [expression];
    result.expression = list;
    result.location = list;
  }
  return result;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues.length ? issues : [allOk()] };
}

function allOk(): OperationOutcomeIssue {
  return { severity: 'information', code: 'informational', diagnostics: 'All OK' };
}

/** An issue that refuses what it is about (error or fatal), as opposed to a warning or a note. */
export function isErrorIssue(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

const SEVERITY_RANK: Record<string, number> = { fatal: 0, error: 1, warning: 2, information: 3 };

/**
 * Issues with what refuses first (fatal, error, warning, information; a severity not among these counts
 * as an error), each group in the order given: a reader of the first issue sees why.
 */
export function mostSevereFirst<T extends Partial<OperationOutcomeIssue>>(issues: T[]): T[] {
  const rank = (i: T) => SEVERITY_RANK[String(i.severity)] ?? SEVERITY_RANK.error;
  return issues
    .map((i, at) => ({ i, at }))
    .sort((a, b) => rank(a.i) - rank(b.i) || a.at - b.at)
    .map(({ i }) => i);
}

export function hasErrors(oo: OperationOutcome): boolean {
  return (oo.issue ?? []).some(isErrorIssue);
}

/**
 * An error that carries its HTTP status and a FHIR OperationOutcome. Every stage throws this for
 * problems a caller can act on; the server turns it into a response unchanged.
 */
export class FhirError extends Error {
  readonly status: number;
  readonly outcome: OperationOutcome;
  /** Response headers the status calls for (`Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    issues: OperationOutcomeIssue | OperationOutcomeIssue[],
    headers: Record<string, string> = {},
  ) {
    const list = Array.isArray(issues) ? issues : [issues];
    super(list.map((i) => i.diagnostics).join('; '));
    this.name = 'FhirError';
    this.status = status;
    this.outcome = outcome(list);
    this.headers = headers;
  }

  static badRequest(diagnostics: string, expression?: string): FhirError {
    return new FhirError(400, issue('error', 'invalid', diagnostics, expression));
  }
  static notFound(diagnostics: string): FhirError {
    return new FhirError(404, issue('error', 'not-found', diagnostics));
  }
  static gone(diagnostics: string): FhirError {
    return new FhirError(410, issue('error', 'deleted', diagnostics));
  }
  static conflict(diagnostics: string): FhirError {
    return new FhirError(409, issue('error', 'conflict', diagnostics));
  }
  static preconditionFailed(diagnostics: string): FhirError {
    return new FhirError(412, issue('error', 'conflict', diagnostics));
  }
  static preconditionRequired(diagnostics: string): FhirError {
    return new FhirError(428, issue('error', 'required', diagnostics));
  }
  /** 422: the request was well-formed but breaks a rule (an OperationOutcome or its issues). */
  static unprocessable(
    problems: OperationOutcome | OperationOutcomeIssue | OperationOutcomeIssue[],
  ): FhirError {
    const isOutcome = !Array.isArray(problems) && 'resourceType' in problems;
    return new FhirError(422, isOutcome ? (problems.issue ?? []) : problems);
  }
}

const RULE_KEY = /^([a-z][a-z0-9]*(?:-[a-z0-9]+)+):/;

/**
 * The rule an issue's diagnostics start with (`tyk-con-1: …`, `same-client: …`), or undefined: lower
 * case words joined by hyphens before a colon. The rule is ours or the remote's, never client data —
 * unlike the rest of a remote's diagnostics, which may quote what we sent.
 */
export function ruleOf(i: Pick<OperationOutcomeIssue, 'diagnostics'>): string | undefined {
  return typeof i.diagnostics === 'string' ? RULE_KEY.exec(i.diagnostics)?.[1] : undefined;
}
