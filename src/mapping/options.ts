import type { IdentityOptions } from './identity.ts';
import type { Language } from './terminology.ts';

export interface MappingOptions extends IdentityOptions {
  /** Language of `Resource.language` and the generated narrative; Finnish by default. */
  language?: Language;
  /** The creating application recorded in every resource (Kanta PHR requires it). */
  application?: { name: string; version?: string };
  /** Validate the domain input (ajv + rules) before mapping; on by default. */
  validate?: boolean;
}

export const DEFAULT_APPLICATION = { name: 'tyokyky-fhir', version: '0.1.0' } as const;
