// The strict-profile rule's refusal names the type as English reads it ("an Organization").
import { beforeAll, expect, it } from 'vitest';
import { type Validator, loadProjectValidator, strictProfileRule } from '../../src/validation/index.ts';

let v: Validator;
beforeAll(async () => {
  v = await loadProjectValidator();
});

it('refuses a resource without our profile in strict mode, with the right article before its type', () => {
  const rule = strictProfileRule(v.registry, true);
  expect(rule.check({ resourceType: 'Organization' })?.diagnostics).toMatch(
    /^strict-profile: in strict mode an Organization must declare one of our profiles in meta\.profile \(/,
  );
  expect(rule.check({ resourceType: 'Patient' })?.diagnostics).toMatch(
    /^strict-profile: in strict mode a Patient /,
  );
});
