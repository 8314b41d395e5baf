// Runs an element's compiled invariants on a node. A constraint that cannot be evaluated
// (InvariantEvaluationError) is a warning, never an error.
import type { CompiledElement } from '../compiled.ts';
import { type CompiledInvariant, type InvariantEnv, InvariantEvaluationError } from '../types.ts';
import type { CheckContext } from './context.ts';

/**
 * What an evaluator said about a failure, for a message; without values in messages, that it is left
 * out: fhirpath.js quotes the values it met (`Expected string, but got: […]`).
 */
export function evaluatorSaid(ctx: Pick<CheckContext, 'policy'>, said: string): string {
  return ctx.policy.valuesInMessages
    ? said
    : "the evaluator's message is left out: it may quote the values it met";
}

/**
 * Runs the element's invariants (or `list`, a subset of them); those `skipKeysOf` also has (ele-1 on
 * type roots) run only once, there.
 */
export function runInvariants(
  ctx: CheckContext,
  env: InvariantEnv,
  el: CompiledElement,
  node: unknown,
  typeName: string,
  skipKeysOf?: CompiledElement,
  list: CompiledInvariant[] = el.invariants,
): void {
  if (!list.length) return;
  env.resource = ctx.resource;
  env.rootResource = ctx.rootResource;
  env.typeName = typeName;
  env.path = el.path;
  for (let i = 0; i < list.length; i++) {
    const inv = list[i];
    if (skipKeysOf?.invariantKeys.has(inv.key)) continue;
    let ok: boolean;
    try {
      ok = inv.check(node, env);
    } catch (e) {
      const failure = e instanceof InvariantEvaluationError ? e : new InvariantEvaluationError(inv.key, e);
      ctx.report('warning', 'processing', failure.saying(evaluatorSaid(ctx, failure.said)));
      continue;
    }
    if (ok) continue;
    const failures = inv.failures?.(node, env);
    if (!failures?.length) ctx.report(inv.severity, 'invariant', `${inv.key}: ${inv.human}`);
    else for (const f of failures) ctx.report(inv.severity, 'invariant', `${inv.key}: ${f.message}`, f.at);
  }
}
