import type { ValueSet } from '@medplum/fhirtypes';
import { isSystemReference } from '../../shared/system-uri.ts';
import { isExampleUrl } from '../checks/example-urls.ts';
import { specPageInsteadOfSystem } from '../checks/systems.ts';
import type { BindingIssue, BindingStrength, ConformanceRegistry } from '../types.ts';
import { MAX_REMEMBERED_MISSES } from '../util.ts';
import { type IndexedCodeSystem, indexCodeSystem } from './codesystem.ts';
import { conceptIssues, isTho } from './concept-issues.ts';
import {
  type CompiledValueSet,
  type ExpansionContext,
  type SystemMembers,
  compileValueSet,
} from './expand.ts';
import { syntaxChecks, syntaxName, unheldSystem } from './external.ts';
import {
  type CodedValue,
  describeCode,
  noCodeIssue,
  noCodingMemberIssue,
  notMemberIssue,
  uncheckableIssue,
  unknownSystemIssue,
  unresolvedValueSet,
} from './issues.ts';

export type { IndexedCodeSystem } from './codesystem.ts';
export type { CompiledValueSet } from './expand.ts';

export type { CodedValue };

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
  /**
   * The members of a ValueSet (canonical or resource) when all of them are enumerable offline (no
   * include left open, no unresolved import); undefined otherwise.
   */
  members(valueSet: string | Record<string, unknown>): ValueSetMembers | undefined;
}

/** A fully enumerated ValueSet: `system` undefined asks whether any of its systems has the code. */
export interface ValueSetMembers {
  has(system: string | undefined, code: string): boolean;
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
  return new LocalTerminology(registry, options.wrongDisplay ?? 'warning');
}

/** The common answer, shared: callers only read issue lists. */
const NO_ISSUES = Object.freeze([]) as unknown as BindingIssue[];
const MEMBER: Verdict = { kind: 'member' };

/** The terminology checks over the registry's CodeSystems and ValueSets, compiled on first use. */
class LocalTerminology implements Terminology {
  private readonly codeSystems = new Map<string, IndexedCodeSystem | null>();
  private codeSystemMisses = 0;
  private readonly valueSets = new Map<string, CompiledValueSet | null>();
  private readonly compiling = new Set<string>();
  private readonly ctx: ExpansionContext = {
    codeSystem: (url) => this.codeSystem(url),
    valueSet: (url) => this.expand(url),
  };

  constructor(
    private readonly registry: ConformanceRegistry,
    private readonly wrongDisplay: 'error' | 'warning',
  ) {}

  codeSystem(url: string): IndexedCodeSystem | undefined {
    let cs = this.codeSystems.get(url);
    if (cs === undefined) {
      const def = this.registry.codeSystem(url) ?? this.registry.codeSystem(stripVersion(url));
      cs = def && def.content !== 'supplement' ? indexCodeSystem(def) : null;
      // What the registry holds is bounded by it; a url naming nothing is remembered up to the limit.
      if (def || this.codeSystemMisses++ < MAX_REMEMBERED_MISSES) this.codeSystems.set(url, cs);
    }
    return cs ?? undefined;
  }

  expand(url: string): CompiledValueSet | undefined {
    let vs = this.valueSets.get(url);
    if (vs !== undefined) return vs ?? undefined;
    if (this.compiling.has(url)) return undefined; // a cycle of imports: treat as unresolvable
    const def = this.registry.valueSet(url) ?? this.registry.valueSet(stripVersion(url));
    if (!def) {
      this.valueSets.set(url, null);
      return undefined;
    }
    this.compiling.add(url);
    try {
      vs = compileValueSet(def, this.ctx);
    } finally {
      this.compiling.delete(url);
    }
    this.valueSets.set(url, vs);
    return vs;
  }

  /** ValueSet resources compiled from the resource itself (contained ones), once each. */
  private readonly local = new WeakMap<object, CompiledValueSet>();

  members(valueSet: string | Record<string, unknown>): ValueSetMembers | undefined {
    let vs: CompiledValueSet | undefined;
    if (typeof valueSet === 'string') vs = this.expand(valueSet);
    else if (valueSet.resourceType === 'ValueSet') {
      vs = this.local.get(valueSet);
      if (!vs) {
        vs = compileValueSet(valueSet as unknown as ValueSet, this.ctx);
        this.local.set(valueSet, vs);
      }
    }
    if (!vs || vs.unresolved.length) return undefined;
    for (const m of vs.systems.values()) if (m.open) return undefined;
    const systems = vs.systems;
    const inSystem = (m: SystemMembers, code: string) =>
      m.codes.has(m.caseSensitive ? code : code.toLowerCase());
    return {
      has(system, code) {
        if (system !== undefined) {
          const m = systems.get(system);
          return !!m && inSystem(m, code);
        }
        for (const m of systems.values()) if (inSystem(m, code)) return true;
        return false;
      },
    };
  }

  /**
   * Checks that do not depend on the binding: the syntax of an external system's code; in a CodeSystem
   * we hold, an unknown code (complete system or fragment), a code in another case, a wrong display.
   */
  codeSystemIssues(v: CodedValue): BindingIssue[] {
    if (!v.system || !v.code) return NO_ISSUES;
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
    const cs = this.codeSystem(v.system);
    if (!cs) return this.unheld(v.system);
    if (!cs.complete && !cs.fragment) return NO_ISSUES;
    const issues = conceptIssues(
      cs,
      { system: v.system, code: v.code, display: v.display },
      this.wrongDisplay,
    );
    return issues.length ? issues : NO_ISSUES;
  }

  private readonly unheldIssues = new Map<string, BindingIssue[]>();

  /**
   * A system we hold no CodeSystem for: "could not be found" (external.ts says how, or that the HL7
   * validator's terminology server holds it: nothing). Not for a system checks/systems.ts refuses (not
   * a system reference, a page of the FHIR sites) or a url holding another resource (a supplement, a
   * ValueSet): it says what is wrong with those; nor in an example domain (example.org, acme.com: test
   * data, as for extensions).
   */
  private unheld(system: string): BindingIssue[] {
    let issues = this.unheldIssues.get(system);
    if (!issues) {
      const exempt =
        !isSystemReference(system, 'Coding') ||
        specPageInsteadOfSystem(system) !== undefined ||
        isExampleUrl(system) ||
        this.registry.resolve(stripVersion(system)) !== undefined;
      const how = exempt ? undefined : unheldSystem(system);
      issues = how ? [unknownSystemIssue(system, how.severity, how.note)] : NO_ISSUES;
      if (this.unheldIssues.size < MAX_REMEMBERED_MISSES) this.unheldIssues.set(system, issues);
    }
    return issues;
  }

  /** True when `system` has had its "could not be found" issue (no second "could not be checked"). */
  private reportedUnheld(system: string): boolean {
    return !this.codeSystem(system) && this.unheld(system).length > 0;
  }

  private thoUnknown(v: CodedValue): boolean {
    if (!v.system || !v.code || !isTho(v.system)) return false;
    const cs = this.codeSystem(v.system);
    return !!cs?.complete && !cs.lookup(v.code);
  }

  /**
   * A fragment or example CodeSystem we hold: its codes cannot be refuted, so they are accepted (a
   * code a fragment does not list gets its warning from `codeSystemIssues`).
   */
  private holdsSome(system: string): boolean {
    return (this.codeSystem(system)?.concepts.size ?? 0) > 0;
  }

  private verdict(vs: CompiledValueSet, v: CodedValue, strength: BindingStrength): Verdict {
    const code = v.code!;
    // Required bindings in R4 name R4 value sets, so our copy is the reference there.
    if (strength !== 'required' && this.thoUnknown(v)) return { kind: 'doubtful' };
    if (v.system) {
      const m = vs.systems.get(v.system);
      if (!m) return { kind: 'not-member' };
      if (m.codes.has(m.caseSensitive ? code : code.toLowerCase())) return MEMBER;
      if (!m.open) return { kind: 'not-member' };
      const syntax = syntaxChecks[v.system];
      if (syntax) {
        return syntax(code)
          ? MEMBER
          : { kind: 'not-member', reason: `'${code}' is not a valid ${syntaxName[v.system]}` };
      }
      // Held but only partly defined (fragment/example): accept; not held at all: cannot check.
      return this.holdsSome(v.system) ? MEMBER : { kind: 'uncheckable', system: v.system };
    }
    if (v.inCoding) return { kind: 'not-member', reason: 'a Coding without a system has no defined meaning' };
    // A bare `code`: any system of the ValueSet may define it.
    let uncheckable: string | undefined;
    for (const [system, m] of vs.systems) {
      if (m.codes.has(m.caseSensitive ? code : code.toLowerCase())) return MEMBER;
      if (!m.open) continue;
      const syntax = syntaxChecks[system];
      if (syntax ? syntax(code) : this.holdsSome(system)) return MEMBER;
      if (!syntax) uncheckable ??= system;
    }
    if (uncheckable) return { kind: 'uncheckable', system: uncheckable };
    const syntaxSystems = [...vs.systems]
      .filter(([s, m]) => m.open && syntaxChecks[s])
      .map(([s]) => syntaxName[s]);
    return syntaxSystems.length
      ? { kind: 'not-member', reason: `'${code}' is not a valid ${syntaxSystems.join(' or ')}` }
      : { kind: 'not-member' };
  }

  checkCode(url: string, strength: BindingStrength, value: CodedValue): BindingIssue[] {
    if (!value.code) return NO_ISSUES;
    const own = this.codeSystemIssues(value);
    if (strength === 'preferred' || strength === 'example' || own.some((i) => i.severity === 'error'))
      return own;
    const vs = this.expand(url);
    if (!vs) return [...own, ...unresolvedValueSet(url, strength)];
    const v = this.verdict(vs, value, strength);
    if (v.kind === 'member' || v.kind === 'doubtful') return own;
    if (v.kind === 'uncheckable') {
      return value.system && !this.reportedUnheld(v.system)
        ? [...own, uncheckableIssue(v.system, value.code, url)]
        : own;
    }
    return [...own, ...notMemberIssue(vs, url, strength, describeCode(value), v.reason)];
  }

  checkCodeableConcept(
    url: string,
    strength: BindingStrength,
    codings: CodedValue[],
    text?: string,
  ): BindingIssue[] {
    const coded = codings.filter((c) => c.code);
    const own =
      coded.length === 1 ? this.codeSystemIssues(coded[0]) : coded.flatMap((c) => this.codeSystemIssues(c));
    if (strength === 'preferred' || strength === 'example') return own;
    const vs = this.expand(url);
    if (!vs) return [...own, ...unresolvedValueSet(url, strength)];
    // No coding at all (text only, or only extensions): the HL7 validator wants one, and says so.
    if (coded.length === 0) return [...own, ...noCodeIssue(vs, url, strength, text)];
    const verdicts = coded.map((c) => this.verdict(vs, c, strength));
    if (verdicts.some(accepted)) return own;
    const uncheckable = verdicts.findIndex((v) => v.kind === 'uncheckable');
    if (uncheckable >= 0) {
      const c = coded[uncheckable];
      return this.reportedUnheld(c.system!) ? own : [...own, uncheckableIssue(c.system!, c.code!, url)];
    }
    const reasons = verdicts.map((v) => (v.kind === 'not-member' ? v.reason : undefined)).filter(Boolean);
    const reason = reasons.join('; ') || undefined;
    if (coded.length === 1)
      return [...own, ...notMemberIssue(vs, url, strength, describeCode(coded[0]), reason)];
    const list = coded.map((c) => `${c.system ?? ''}#${c.code}`).join(', ');
    return [...own, ...noCodingMemberIssue(vs, url, strength, list, reason)];
  }
}

const accepted = (v: Verdict) => v.kind === 'member' || v.kind === 'doubtful';

function stripVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}
