/**
 * Types for the matchers in vitest: `import 'tyokyky-fhir/testing/vitest'` once (a test file or a
 * `.d.ts` in the project) and `expect(x).toConformTo(url)` type-checks.
 */
import type {} from 'vitest';
import type { FhirMatchers } from './index.ts';

declare module 'vitest' {
  interface Assertion<T = any> extends FhirMatchers<T> {}
  interface AsymmetricMatchersContaining extends FhirMatchers {}
}
