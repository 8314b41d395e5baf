import type { ElementDefinitionConstraint } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { CompiledInvariant, InvariantEnv } from '../types.ts';
import { InvariantEvaluationError } from '../types.ts';
import { standardVariables } from './environment.ts';
import { PROJECT_PROFILE_BASE } from './project.ts';
import { localInvocations } from './resolve.ts';
import { shortcutsFor, triviallyTrue } from './shortcut.ts';
import { INVARIANTS } from './table.ts';

export { narrativeHasContent, narrativeXhtmlOk } from './narrative.ts';

export { InvariantEvaluationError };
export { INVARIANTS, isEngineChecked, type Evaluation } from './table.ts';

export type InvariantOutcome = { ok: boolean } | { ok: true; error: string };

/** Runs an invariant without throwing: `error` is set when it could not be evaluated (report a warning). */
export function runInvariant(inv: CompiledInvariant, node: unknown, env: InvariantEnv): InvariantOutcome {
  try {
    return { ok: inv.check(node, env) };
  } catch (e) {
    return { ok: true, error: e instanceof Error ? e.message : String(e) };
  }
}

// Published expressions call trace() (e.g. ref-1); fhirpath.js would print each call to the console.
const ignoreTrace = () => {};
const noEnv = {};

type Compiled = (node: unknown, vars: Record<string, unknown>) => unknown[];

/**
 * Compiles one snapshot constraint once, evaluated as the table (table.ts) says for its key. Returns
 * undefined for a constraint the engine checks itself, or with neither an expression nor a native
 * implementation.
 */
export function compileInvariant(
  constraint: ElementDefinitionConstraint,
  path: string,
): CompiledInvariant | undefined {
  const key = constraint.key ?? '(unnamed)';
  const severity = constraint.severity === 'warning' ? 'warning' : 'error';
  const human = constraint.human ?? constraint.expression ?? key;
  const row = INVARIANTS[key];
  if (row?.by === 'engine') return undefined;
  const core = isCoreConstraint(constraint);
  if (row?.by === 'native' && core) return { key, severity, human, check: row.check, failures: row.failures };
  const published = constraint.expression?.trim();
  if (!published) return undefined;
  const expression =
    row?.by === 'corrected' && row.published.includes(published) ? row.expression : published;

  // One compiled function per base path: the base tells fhirpath.js the node's type.
  const byBase = new Map<string, Compiled | Error>();
  const compiled = (base: string): Compiled => {
    let fn = byBase.get(base);
    if (!fn) {
      try {
        fn = fhirpath.compile(
          { base, expression },
          r4 as any,
          {
            traceFn: ignoreTrace,
            userInvocationTable: localInvocations,
          } as any,
        ) as unknown as Compiled;
      } catch (e) {
        fn = e instanceof Error ? e : new Error(String(e));
      }
      byBase.set(base, fn);
    }
    if (fn instanceof Error) throw new InvariantEvaluationError(key, fn);
    return fn;
  };

  const shortcuts = shortcutsFor(expression);
  const fast =
    row?.by === 'fast' && core
      ? row.fast
      : row?.by === 'project' && constraint.source?.startsWith(PROJECT_PROFILE_BASE)
        ? row.fast
        : undefined;
  // fhirpath.js hashes environment variables on every call; pass them only to expressions using them.
  const usesEnv =
    expression.includes('%') ||
    expression.includes('resolve(') ||
    expression.includes('memberOf(') ||
    expression.includes('conformsTo(');
  const standard = usesEnv ? standardVariables(expression) : noEnv;

  return {
    key,
    severity,
    human,
    check(node, env) {
      if (shortcuts.length && triviallyTrue(node, shortcuts)) return true;
      const quick = fast?.(node, env);
      if (quick !== undefined) return quick;
      const fn = compiled(baseFor(path, env.typeName));
      let result: unknown[];
      try {
        result = fn(
          node,
          usesEnv
            ? {
                ...standard,
                resource: env.resource,
                rootResource: env.rootResource,
                memberOf: env.memberOf,
                conformsTo: env.conformsTo,
              }
            : noEnv,
        );
      } catch (e) {
        throw new InvariantEvaluationError(key, e);
      }
      return toBoolean(result);
    },
  };
}

/** Constraints from the FHIR core spec (not a profile reusing a key with its own meaning). */
function isCoreConstraint(c: ElementDefinitionConstraint): boolean {
  return !c.source || c.source.startsWith('http://hl7.org/fhir/StructureDefinition/');
}

/**
 * Where the node sits, as fhirpath.js's model knows it. Datatypes and resources are their own base;
 * backbone elements need the element path; choice paths (`value[x]`) only make sense as the type.
 */
function baseFor(path: string, typeName: string): string {
  if (typeName && typeName !== 'BackboneElement' && typeName !== 'Element') return typeName;
  return path.replace(/\[x\]$/, '');
}

/** The HL7 validator's reading of an invariant result: empty is false, one boolean is itself, else true. */
function toBoolean(result: unknown[]): boolean {
  if (result.length === 0) return false;
  if (result.length === 1) {
    const v = result[0];
    if (typeof v === 'boolean') return v;
    if (v && typeof v === 'object' && 'valueOf' in v && typeof (v as any).valueOf() === 'boolean')
      return (v as any).valueOf();
  }
  return true;
}
