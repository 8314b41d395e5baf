// The project's validator (R4 core + FI Base + profiles/package) as the mapping tests judge with it.
import { beforeAll } from 'vitest';
import { type Validator, loadProjectValidator } from '../../src/validation/index.ts';

/**
 * Loads the validator before the calling file's tests and returns a judge of one resource or Bundle:
 * its errors (and fatal issues) as `expression: diagnostics`.
 */
export function projectErrors(): (resource: unknown) => string[] {
  let validator: Validator;
  beforeAll(async () => {
    validator = await loadProjectValidator();
  });
  return (resource) =>
    (validator.validate(resource).issue ?? [])
      .filter((i) => i.severity === 'error' || i.severity === 'fatal')
      .map((i) => `${i.expression?.[0]}: ${i.diagnostics}`);
}
