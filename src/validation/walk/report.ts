import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { PathStack } from './path.ts';

export type Severity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

// An instance value a message quotes is marked, and shown or left out where the message is reported
// (Walk.report): the one place `valuesInMessages` decides for values that are not the value being
// checked (an id, a fullUrl, a local reference). Private-use characters no message text holds.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const MARKS = /[\uE000\uE001]/g;
const MARKED = /\uE000([^\uE001]*)\uE001/g;

/**
 * `value` quoted in a message (`'value'`), or `'…'` in a run that keeps values out of messages
 * (`valuesInMessages: false`). Every message quoting instance data that is not the value under check
 * (the walk drops that one itself) quotes it with this.
 */
export function quoted(value: string): string {
  return `${OPEN}${value.replace(MARKS, '')}${CLOSE}`;
}

/** The message with its `quoted` values shown, or each left out as `'…'`. */
export function showQuoted(message: string, values: boolean): string {
  if (!message.includes(OPEN)) return message;
  return message.replace(MARKED, (_, value: string) => (values ? `'${value}'` : "'…'"));
}

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

const IN_CODING = /^(.*)\.coding\[\d+\]$/;

/**
 * A Coding's own code-system issue is dropped where the binding check of its CodeableConcept, in
 * another definition's walk (a profile's slice binds what the base leaves unbound), reports the same
 * finding: the HL7 validator walks one snapshot and reports it once, at the concept.
 */
export function dropCoveredCodingIssues(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  if (!issues.some((i) => IN_CODING.test(i.expression?.[0] ?? ''))) return issues;
  return issues.filter((i) => {
    const concept = IN_CODING.exec(i.expression?.[0] ?? '')?.[1];
    const text = i.diagnostics;
    if (concept === undefined || !text) return true;
    return !issues.some((j) => j !== i && j.expression?.[0] === concept && j.diagnostics?.includes(text));
  });
}
