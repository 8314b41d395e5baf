// What a CodeSystem we hold says of one code, whatever the binding: unknown (in a complete system, or
// a fragment), written in another case (in a case-insensitive system), or a wrong display. Worded as
// the HL7 validator words them.
import type { BindingIssue } from '../types.ts';
import { type IndexedCodeSystem, normaliseDisplay } from './codesystem.ts';

/** An HL7 Terminology (THO) code system: our R4-era copy may lack codes added since. */
export const isTho = (system: string) => system.startsWith('http://terminology.hl7.org/CodeSystem/');

export interface CodeInSystem {
  system: string;
  code: string;
  display?: string;
}

export function conceptIssues(
  cs: IndexedCodeSystem,
  v: CodeInSystem,
  wrongDisplay: 'error' | 'warning',
): BindingIssue[] {
  const concept = cs.lookup(v.code);
  if (!concept) return unknownCode(cs, v);
  const issues: BindingIssue[] = [];
  if (concept.code !== v.code) {
    // Only a case-insensitive system finds a concept under another spelling.
    issues.push({
      severity: 'information',
      code: 'business-rule',
      message: `The code '${v.code}' differs from the correct code '${concept.code}' by case. Although the code system '${cs.versionedUrl}' is case insensitive, implementers are strongly encouraged to use the correct case anyway`,
    });
  }
  if (
    v.display !== undefined &&
    concept.displays.size > 0 &&
    !concept.displays.has(normaliseDisplay(v.display))
  ) {
    issues.push({
      severity: wrongDisplay,
      code: 'invalid',
      message: `Wrong display '${v.display}' for '${v.system}#${v.code}': expected '${concept.display ?? [...concept.displays][0]}' (or a designation)`,
    });
  }
  return issues;
}

function unknownCode(cs: IndexedCodeSystem, v: CodeInSystem): BindingIssue[] {
  if (cs.fragment) {
    // The HL7 validator's UNKNOWN_CODE_IN_FRAGMENT: accepted, with a warning.
    const version = cs.version ? ` version '${cs.version}'` : '';
    return [
      {
        severity: 'warning',
        code: 'code-invalid',
        message: `Unknown Code '${v.code}' in the CodeSystem '${cs.url}'${version} - note that the code system is labeled as a fragment, so the code may be valid in some other fragment`,
      },
    ];
  }
  if (!cs.complete) return [];
  // HL7 Terminology (THO) code systems keep growing after R4; our R4-era copy can lack codes that are
  // valid today, so there it is only a warning.
  const tho = isTho(v.system);
  return [
    {
      severity: tho ? 'warning' : 'error',
      code: 'code-invalid',
      message: tho
        ? `Unknown code '${v.code}' in the CodeSystem '${v.system}' (as of the R4 copy held here; HL7 Terminology may define it since)`
        : `Unknown code '${v.code}' in the CodeSystem '${v.system}'`,
    },
  ];
}
