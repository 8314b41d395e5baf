import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** One validated resource (or unparseable input) as the reporters see it. */
export interface Result {
  source: string;
  file: string;
  outcome: OperationOutcome;
  errors: number;
  warnings: number;
  /** Counts as a failure under the chosen `--fail-on`. */
  failed: boolean;
}

export interface Totals {
  resources: number;
  /** Resources with at least one error or fatal issue. */
  invalid: number;
  /** Resources that fail under `--fail-on` (errors, or errors and warnings). */
  failed: number;
  errors: number;
  warnings: number;
}

/** Writes results as they come and a summary at the end. */
export interface Reporter {
  result(r: Result): void;
  end(totals: Totals): void;
}

export type Format = 'text' | 'ndjson' | 'junit';

export function createReporter(format: Format, write: (s: string) => void): Reporter {
  if (format === 'ndjson') return ndjsonReporter(write);
  if (format === 'junit') return junitReporter(write);
  return textReporter(write);
}

function issueLine(i: OperationOutcomeIssue): string {
  const where = i.expression?.[0] ?? i.location?.[0] ?? '';
  return `${i.severity.padEnd(11)} ${where ? `${where}  ` : ''}${i.diagnostics ?? i.details?.text ?? i.code}`;
}

const isAllOk = (i: OperationOutcomeIssue) =>
  i.severity === 'information' && i.code === 'informational' && i.diagnostics === 'All OK';

function textReporter(write: (s: string) => void): Reporter {
  return {
    result({ source, outcome, errors, warnings, failed }) {
      // Failing with no errors can only be --fail-on warning's doing: said, so the ✗ matches the exit code.
      const head =
        errors || failed
          ? `✗ ${source}: ${errors} error(s), ${warnings} warning(s)${errors ? '' : ' (fails --fail-on warning)'}`
          : `✓ ${source}: valid${warnings ? `, ${warnings} warning(s)` : ''}`;
      const lines = [head];
      for (const i of outcome.issue ?? []) if (!isAllOk(i)) lines.push(`  ${issueLine(i)}`);
      write(`${lines.join('\n')}\n`);
    },
    end(t) {
      const valid = t.resources - t.invalid;
      // More failing than invalid: --fail-on warning failed resources without errors too.
      const failed = t.failed > t.invalid ? `, ${t.failed} failed (--fail-on warning)` : '';
      write(
        `\n${t.resources} resource(s): ${valid} valid, ${t.invalid} with errors${failed} (${t.errors} error(s), ${t.warnings} warning(s))\n`,
      );
    },
  };
}

function ndjsonReporter(write: (s: string) => void): Reporter {
  return {
    // `valid`: no errors; `failed`: fails under `--fail-on` (the exit code 1), warnings too with `warning`.
    result({ source, outcome, errors, warnings, failed }) {
      write(`${JSON.stringify({ source, valid: errors === 0, failed, errors, warnings, outcome })}\n`);
    },
    end() {},
  };
}

/** XML 1.0 text: the five escapes, and characters XML cannot carry at all dropped. */
export function xmlText(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/**
 * JUnit XML, which CI systems show natively: one test suite per input file, one test case per resource;
 * a failing case carries its issues (one per line) and the whole OperationOutcome as JSON.
 */
function junitReporter(write: (s: string) => void): Reporter {
  const suites = new Map<string, { cases: string[]; failures: number }>();
  return {
    result(r) {
      const suite = suites.get(r.file) ?? { cases: [], failures: 0 };
      suites.set(r.file, suite);
      const name = `name="${xmlText(r.source)}" classname="${xmlText(r.file)}"`;
      const issues = (r.outcome.issue ?? []).filter((i) => !isAllOk(i)).map(issueLine);
      if (!r.failed) {
        const out = issues.length ? `<system-out>${xmlText(issues.join('\n'))}</system-out>` : '';
        suite.cases.push(`    <testcase ${name}>${out}</testcase>`);
        return;
      }
      suite.failures++;
      const message = `${r.errors} error(s), ${r.warnings} warning(s)`;
      const body = `${issues.join('\n')}\n\n${JSON.stringify(r.outcome, null, 2)}`;
      suite.cases.push(
        `    <testcase ${name}>\n      <failure message="${message}" type="${r.errors ? 'error' : 'warning'}">${xmlText(body)}</failure>\n    </testcase>`,
      );
    },
    end(t) {
      const lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<testsuites name="tyokyky validate" tests="${t.resources}" failures="${t.failed}" errors="0">`,
      ];
      for (const [file, s] of suites) {
        lines.push(
          `  <testsuite name="${xmlText(file)}" tests="${s.cases.length}" failures="${s.failures}" errors="0">`,
          ...s.cases,
          '  </testsuite>',
        );
      }
      lines.push('</testsuites>');
      write(`${lines.join('\n')}\n`);
    },
  };
}
