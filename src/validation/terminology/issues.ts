// The issues a binding check reports, worded once.
import type { BindingIssue, BindingStrength } from '../types.ts';
import type { CompiledValueSet } from './expand.ts';

export interface CodedValue {
  system?: string;
  code?: string;
  display?: string;
  /**
   * The code of a Coding (not a bare `code` element): without a system it has no defined meaning, so it
   * is not looked up across the value set's systems as a bare code is.
   */
  inCoding?: boolean;
}

export function unresolvedValueSet(url: string, strength: BindingStrength): BindingIssue[] {
  return strength === 'required' || strength === 'extensible'
    ? [
        {
          severity: 'warning',
          code: 'not-supported',
          message: `ValueSet '${url}' could not be resolved, so the ${strength} binding was not checked`,
        },
      ]
    : [];
}

export function uncheckableIssue(system: string, code: string, url: string): BindingIssue {
  return {
    severity: 'warning',
    code: 'not-supported',
    message: `Code system '${system}' is not available here, so the code '${code}' could not be checked against the value set '${url}'`,
  };
}

/**
 * A code whose system we do not hold, in the HL7 validator's words (its UNKNOWN_CODESYSTEM); `note`
 * says why it is only information.
 */
export function unknownSystemIssue(
  system: string,
  severity: 'warning' | 'information',
  note?: string,
): BindingIssue {
  const why = note ? ` (${note})` : '';
  return {
    severity,
    code: 'not-found',
    message: `A definition for CodeSystem '${system}' could not be found, so the code cannot be validated${why}`,
  };
}

export function notMemberIssue(
  vs: CompiledValueSet,
  url: string,
  strength: BindingStrength,
  what: string,
  reason?: string,
): BindingIssue[] {
  const suffix = reason ? ` (${reason})` : '';
  if (vs.unresolved.length) {
    return [
      {
        severity: 'warning',
        code: 'not-supported',
        message: `${what} could not be confirmed in the value set '${url}' because it depends on ${vs.unresolved.join(', ')}, which could not be resolved${suffix}`,
      },
    ];
  }
  if (strength === 'required') {
    return [
      {
        severity: 'error',
        code: 'code-invalid',
        message: `${what} is not in the required value set '${url}'${suffix}`,
      },
    ];
  }
  if (strength === 'extensible') {
    return [
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `${what} is not in the extensible value set '${url}'${suffix}`,
      },
    ];
  }
  return [];
}

/** A value set as the HL7 validator names it: `'title' (url)`, or `'url'` when it has no title. */
function describeValueSet(vs: CompiledValueSet, url: string): string {
  return vs.title ? `'${vs.title}' (${url})` : `'${url}'`;
}

/** A CodeableConcept with no coding (text only, or only extensions) under a required or extensible binding. */
export function noCodeIssue(
  vs: CompiledValueSet,
  url: string,
  strength: BindingStrength,
  text: string | undefined,
): BindingIssue[] {
  const what = text ? `No code provided (only text '${text}'), and a code` : 'No code provided, and a code';
  if (strength === 'required')
    return [
      {
        severity: 'error',
        code: 'code-invalid',
        message: `${what} is required from the value set ${describeValueSet(vs, url)}`,
      },
    ];
  if (strength === 'extensible')
    return [
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `${what} should be provided from the value set ${describeValueSet(vs, url)}`,
      },
    ];
  return [];
}

/** Several codings (`system#code, …`), none of them in the value set: one issue, in the HL7 validator's words. */
export function noCodingMemberIssue(
  vs: CompiledValueSet,
  url: string,
  strength: BindingStrength,
  codes: string,
  reason?: string,
): BindingIssue[] {
  const suffix = reason ? ` (${reason})` : '';
  const where = describeValueSet(vs, url);
  if (vs.unresolved.length) {
    return [
      {
        severity: 'warning',
        code: 'not-supported',
        message: `None of the codings provided (${codes}) could be confirmed in the value set ${where} because it depends on ${vs.unresolved.join(', ')}, which could not be resolved${suffix}`,
      },
    ];
  }
  if (strength === 'required') {
    return [
      {
        severity: 'error',
        code: 'code-invalid',
        message: `None of the codings provided are in the value set ${where}, and a coding from this value set is required (codes = ${codes})${suffix}`,
      },
    ];
  }
  if (strength === 'extensible') {
    return [
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `None of the codings provided are in the value set ${where}, and a coding should come from this value set unless it has no suitable code (note that the validator cannot judge what is suitable) (codes = ${codes})${suffix}`,
      },
    ];
  }
  return [];
}

export function describeCode(v: CodedValue): string {
  return v.system ? `The code '${v.system}#${v.code}'` : `The code '${v.code}'`;
}
