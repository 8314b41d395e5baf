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

export function describeCode(v: CodedValue): string {
  return v.system ? `The code '${v.system}#${v.code}'` : `The code '${v.code}'`;
}
