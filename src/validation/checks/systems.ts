import { isAbsoluteUri } from '../util.ts';
import type { CheckContext } from './context.ts';

/**
 * `Coding.system` and `Identifier.system` must be absolute URIs, and a Coding's system must name a code
 * system, not a value set the registry holds nor a CodeSystem supplement (R4 codesystem.html: a
 * supplement adds designations and properties to another code system and is never a Coding's system).
 * The HL7 validator reports all four as errors.
 */
export function checkSystem(
  walk: CheckContext,
  value: Record<string, unknown>,
  type: 'Coding' | 'Identifier',
): void {
  const system = value.system;
  if (typeof system !== 'string' || system === '') return;
  if (!isAbsoluteUri(system)) {
    walk.report(
      'error',
      'invalid',
      `${type}.system must be an absolute reference, not a local reference ('${system}')`,
    );
    return;
  }
  if (type !== 'Coding') return;
  if (isValueSetUrl(walk, system)) {
    walk.report('error', 'invalid', `The Coding references a value set, not a code system ('${system}')`);
  } else if (isSupplement(walk, system)) {
    walk.report(
      'error',
      'invalid',
      `The CodeSystem '${system}' is a supplement, so it cannot be used as a value in Coding.system`,
    );
  }
}

function isValueSetUrl(walk: CheckContext, system: string): boolean {
  if (!system.includes('/ValueSet/')) return false;
  const registry = walk.compiler.registry;
  return registry.valueSet(system) !== undefined && registry.codeSystem(system) === undefined;
}

/** A CodeSystem that supplements another (`supplements` set, or `content = supplement`). */
function isSupplement(walk: CheckContext, system: string): boolean {
  const cs = walk.compiler.registry.codeSystem(system);
  return !!cs && (cs.content === 'supplement' || typeof cs.supplements === 'string');
}
