import type { BindingIssue, BindingStrength, ConformanceRegistry } from '../types.ts';
import { type IndexedCodeSystem, indexCodeSystem, normaliseDisplay } from './codesystem.ts';
import { type CompiledValueSet, type ExpansionContext, compileValueSet } from './expand.ts';
import { syntaxChecks, syntaxName } from './external.ts';

export type { IndexedCodeSystem } from './codesystem.ts';
export type { CompiledValueSet } from './expand.ts';

export interface CodedValue {
  system?: string;
  code?: string;
  display?: string;
}

/**
 * Terminology checks without a terminology server. ValueSets are expanded from the CodeSystems and
 * ValueSets in the registry once, on first use, into Set lookups.
 */
export interface Terminology {
  /**
   * A `code`, `Coding` or `Quantity`/`uri` coded value; `code`-typed elements pass only `{code}`.
   * For `preferred`/`example` bindings (or an unbound Coding, passed as `example`) only the
   * CodeSystem checks run: unknown code in a complete local system, display, external syntax.
   */
  checkCode(valueSet: string, strength: BindingStrength, value: CodedValue): BindingIssue[];
  checkCodeableConcept(
    valueSet: string,
    strength: BindingStrength,
    codings: CodedValue[],
    text?: string,
  ): BindingIssue[];
  /** The compiled ValueSet, or undefined when it cannot be resolved. */
  expand(valueSet: string): CompiledValueSet | undefined;
  /** The indexed CodeSystem, or undefined when we do not hold it. */
  codeSystem(url: string): IndexedCodeSystem | undefined;
}

type Verdict =
  | { kind: 'member' }
  | { kind: 'uncheckable'; system: string }
  /** Unknown to our copy of an HL7 Terminology system: already warned about, not refuted. */
  | { kind: 'doubtful' }
  | { kind: 'not-member'; reason?: string };

export interface TerminologyOptions {
  /** Severity of a display that matches neither the code's display nor a designation (default warning). */
  wrongDisplay?: 'error' | 'warning';
}

export function createTerminology(
  registry: ConformanceRegistry,
  options: TerminologyOptions = {},
): Terminology {
  const wrongDisplay = options.wrongDisplay ?? 'warning';
  const codeSystems = new Map<string, IndexedCodeSystem | null>();
  const valueSets = new Map<string, CompiledValueSet | null>();
  const compiling = new Set<string>();

  const codeSystem = (url: string): IndexedCodeSystem | undefined => {
    let cs = codeSystems.get(url);
    if (cs === undefined) {
      const def = registry.codeSystem(url) ?? registry.codeSystem(stripVersion(url));
      cs = def && def.content !== 'supplement' ? indexCodeSystem(def) : null;
      codeSystems.set(url, cs);
    }
    return cs ?? undefined;
  };

  const expand = (url: string): CompiledValueSet | undefined => {
    let vs = valueSets.get(url);
    if (vs !== undefined) return vs ?? undefined;
    if (compiling.has(url)) return undefined; // a cycle of imports: treat as unresolvable
    const def = registry.valueSet(url) ?? registry.valueSet(stripVersion(url));
    if (!def) {
      valueSets.set(url, null);
      return undefined;
    }
    compiling.add(url);
    try {
      vs = compileValueSet(def, ctx);
    } finally {
      compiling.delete(url);
    }
    valueSets.set(url, vs);
    return vs;
  };
  const ctx: ExpansionContext = { codeSystem, valueSet: expand };

  /** Checks that do not depend on the binding: unknown code in a complete local system, display. */
  const codeSystemIssues = (v: CodedValue): BindingIssue[] => {
    if (!v.system || !v.code) return [];
    const syntax = syntaxChecks[v.system];
    if (syntax && !syntax(v.code)) {
      return [
        {
          severity: 'error',
          code: 'code-invalid',
          message: `'${v.code}' is not a valid ${syntaxName[v.system]} (system '${v.system}')`,
        },
      ];
    }
    const cs = codeSystem(v.system);
    if (!cs?.complete) return [];
    const concept = cs.lookup(v.code);
    if (!concept) {
      // HL7 Terminology (THO) code systems keep growing after R4; our R4-era copy can lack codes
      // that are valid today (e.g. v2-0203 NNFIN, used by FI Base), so there it is only a warning.
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
    if (
      v.display !== undefined &&
      concept.displays.size > 0 &&
      !concept.displays.has(normaliseDisplay(v.display))
    ) {
      return [
        {
          severity: wrongDisplay,
          code: 'invalid',
          message: `Wrong display '${v.display}' for '${v.system}#${v.code}': expected '${concept.display ?? [...concept.displays][0]}' (or a designation)`,
        },
      ];
    }
    return [];
  };

  const isTho = (system: string) => system.startsWith('http://terminology.hl7.org/CodeSystem/');
  const thoUnknown = (v: CodedValue) => {
    if (!v.system || !v.code || !isTho(v.system)) return false;
    const cs = codeSystem(v.system);
    return !!cs?.complete && !cs.lookup(v.code);
  };

  /** A fragment or example CodeSystem we hold: its codes cannot be refuted, so they are accepted. */
  const holdsSome = (system: string) => (codeSystem(system)?.concepts.size ?? 0) > 0;

  const verdict = (vs: CompiledValueSet, v: CodedValue, strength: BindingStrength): Verdict => {
    const code = v.code!;
    // Required bindings in R4 name R4 value sets, so our copy is the reference there.
    if (strength !== 'required' && thoUnknown(v)) return { kind: 'doubtful' };
    if (v.system) {
      const m = vs.systems.get(v.system);
      if (!m) return { kind: 'not-member' };
      if (m.codes.has(m.caseSensitive ? code : code.toLowerCase())) return { kind: 'member' };
      if (!m.open) return { kind: 'not-member' };
      const syntax = syntaxChecks[v.system];
      if (syntax) {
        return syntax(code)
          ? { kind: 'member' }
          : { kind: 'not-member', reason: `'${code}' is not a valid ${syntaxName[v.system]}` };
      }
      // Held but only partly defined (fragment/example): accept; not held at all: cannot check.
      return holdsSome(v.system) ? { kind: 'member' } : { kind: 'uncheckable', system: v.system };
    }
    // A bare `code`: any system of the ValueSet may define it.
    let uncheckable: string | undefined;
    for (const [system, m] of vs.systems) {
      if (m.codes.has(m.caseSensitive ? code : code.toLowerCase())) return { kind: 'member' };
      if (!m.open) continue;
      const syntax = syntaxChecks[system];
      if (syntax ? syntax(code) : holdsSome(system)) return { kind: 'member' };
      if (!syntax) uncheckable ??= system;
    }
    if (uncheckable) return { kind: 'uncheckable', system: uncheckable };
    const syntaxSystems = [...vs.systems]
      .filter(([s, m]) => m.open && syntaxChecks[s])
      .map(([s]) => syntaxName[s]);
    return syntaxSystems.length
      ? { kind: 'not-member', reason: `'${code}' is not a valid ${syntaxSystems.join(' or ')}` }
      : { kind: 'not-member' };
  };

  const unresolvedValueSet = (url: string, strength: BindingStrength): BindingIssue[] =>
    strength === 'required' || strength === 'extensible'
      ? [
          {
            severity: 'warning',
            code: 'not-supported',
            message: `ValueSet '${url}' could not be resolved, so the ${strength} binding was not checked`,
          },
        ]
      : [];

  const uncheckableIssue = (system: string, code: string, url: string): BindingIssue => ({
    severity: 'warning',
    code: 'not-supported',
    message: `Code system '${system}' is not available here, so the code '${code}' could not be checked against the value set '${url}'`,
  });

  const notMemberIssue = (
    vs: CompiledValueSet,
    url: string,
    strength: BindingStrength,
    what: string,
    reason?: string,
  ): BindingIssue[] => {
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
  };

  const describe = (v: CodedValue) =>
    v.system ? `The code '${v.system}#${v.code}'` : `The code '${v.code}'`;

  return {
    expand,
    codeSystem,

    checkCode(url, strength, value) {
      if (!value.code) return [];
      const own = codeSystemIssues(value);
      if (own.some((i) => i.severity === 'error') || strength === 'preferred' || strength === 'example')
        return own;
      const vs = expand(url);
      if (!vs) return [...own, ...unresolvedValueSet(url, strength)];
      const v = verdict(vs, value, strength);
      if (v.kind === 'member' || v.kind === 'doubtful') return own;
      if (v.kind === 'uncheckable') {
        return value.system ? [...own, uncheckableIssue(v.system, value.code, url)] : own;
      }
      return [...own, ...notMemberIssue(vs, url, strength, describe(value), v.reason)];
    },

    checkCodeableConcept(url, strength, codings, text) {
      const coded = codings.filter((c) => c.code);
      const own = coded.flatMap(codeSystemIssues);
      if (strength === 'preferred' || strength === 'example') return own;
      if (coded.length === 0) {
        if (strength !== 'required') return own;
        const vs = expand(url);
        if (!vs) return [...own, ...unresolvedValueSet(url, strength)];
        const what = text
          ? `No code provided (only text '${text}'), and a code`
          : 'No code provided, and a code';
        return [
          ...own,
          {
            severity: 'error',
            code: 'code-invalid',
            message: `${what} is required from the value set '${url}'`,
          },
        ];
      }
      const vs = expand(url);
      if (!vs) return [...own, ...unresolvedValueSet(url, strength)];
      const verdicts = coded.map((c) => verdict(vs, c, strength));
      if (verdicts.some((v) => v.kind === 'member' || v.kind === 'doubtful')) return own;
      const uncheckable = verdicts.findIndex((v) => v.kind === 'uncheckable');
      if (uncheckable >= 0) {
        const c = coded[uncheckable];
        return [...own, uncheckableIssue(c.system!, c.code!, url)];
      }
      const list = coded.map((c) => `${c.system ?? ''}#${c.code}`).join(', ');
      const reasons = verdicts.map((v) => (v.kind === 'not-member' ? v.reason : undefined)).filter(Boolean);
      const what = coded.length === 1 ? describe(coded[0]) : `None of the codings (${list})`;
      return [...own, ...notMemberIssue(vs, url, strength, what, reasons.join('; ') || undefined)];
    },
  };
}

function stripVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}
