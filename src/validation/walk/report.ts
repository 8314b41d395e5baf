import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { PathStack } from './path.ts';

export type Severity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

/**
 * Collects the issues of one run: each at the current path (plus `extra`), once, and attributed to
 * the profile being applied (`(from <url>)`), as the HL7 validator words them.
 */
export class Reporter {
  readonly issues: OperationOutcomeIssue[] = [];
  private readonly seen = new Set<string>();
  errors = 0;
  /** Profile URL when validating against a non-core definition (named in messages). */
  profile: string | undefined;

  constructor(private readonly at: PathStack) {}

  report(severity: Severity, code: IssueCode, message: string, extra?: string): void {
    const expression = this.at.path(extra);
    const key = `${severity}|${expression}|${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const diagnostics = this.profile ? `${message} (from ${this.profile})` : message;
    this.issues.push(
      expression
        ? { severity, code, diagnostics, expression: [expression], location: [expression] }
        : { severity, code, diagnostics },
    );
    if (severity === 'error' || severity === 'fatal') this.errors++;
  }

  /** Attributes the next issues to `profile`; returns the attribution to restore (assign it to `profile`). */
  enter(profile: string | undefined): string | undefined {
    const prev = this.profile;
    this.profile = profile;
    return prev;
  }

  /** Runs `fn` with issues attributed to `profile` (undefined: a base definition, not named). */
  attributed(profile: string | undefined, fn: () => void): void {
    const prev = this.profile;
    this.profile = profile;
    try {
      fn();
    } finally {
      this.profile = prev;
    }
  }
}
