/**
 * Types for the matchers in jest: `import 'tyokyky-fhir/testing/jest'` once and
 * `expect(x).toConformTo(url)` type-checks (jest's global `expect`, `@types/jest`).
 */
import type { FhirMatchers } from './index.ts';

declare global {
  namespace jest {
    interface Matchers<R> extends FhirMatchers<R> {}
  }
}
