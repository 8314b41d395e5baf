import type { IdentityOptions } from './identity.ts';
import type { Language } from './terminology.ts';

export interface MappingOptions extends IdentityOptions {
  /** Language of `Resource.language` and the generated narrative; Finnish by default. */
  language?: Language;
  /**
   * The creating application recorded in every resource as Kanta PHR's `fiphr-ext-creatingapplication`:
   * its name and the `applicationId` Kela assigns when the application is registered.
   */
  application?: { name: string; applicationId: string };
  /** Validate the domain input (ajv + rules) before mapping; on by default. */
  validate?: boolean;
}

/** Used when no application is configured; a deployment sets its Kela-assigned applicationId. */
export const DEFAULT_APPLICATION = {
  name: 'tyokyky-fhir',
  applicationId: 'tyokyky-fhir-unregistered',
} as const;
