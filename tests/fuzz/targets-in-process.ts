/** Targets in this process without a server: the project validator and the SDK. */
import type { Resource } from '@medplum/fhirtypes';
import { personas } from '../../examples/tools/personas.ts';
import { DomainValidationError, FhirError, fromFhir, toFhir } from '../../src/index.ts';
import { loadProjectValidator } from '../../src/validation/index.ts';
import { quotingIssue, signatureOf } from './judge.ts';
import { type Target, fhirSeeds } from './target.ts';

const INTERNAL = /internal error/i;

export const validator: Target = {
  name: 'validator',
  what: 'the project validator never stops on an internal error or throws',
  async open() {
    const v = await loadProjectValidator();
    return {
      seeds: fhirSeeds(),
      async check(input) {
        try {
          const oo = v.validate(input);
          const internal = oo.issue?.find((i) => INTERNAL.test(i.diagnostics ?? ''));
          return internal && signatureOf(new Error(internal.diagnostics));
        } catch (err) {
          return `threw ${signatureOf(err)}`;
        }
      },
      close: async () => undefined,
    };
  },
};

export const validatorPrivacy: Target = {
  name: 'validator-privacy',
  what: 'with valuesInMessages: false no issue quotes client data (names and namespaces may be quoted)',
  async open() {
    const v = await loadProjectValidator();
    return {
      seeds: fhirSeeds(),
      check: async (input) => quotingIssue(v.validate(input, { valuesInMessages: false }), input),
      close: async () => undefined,
    };
  },
};

/** An SDK call may refuse its input only with a FhirError (DomainValidationError is one). */

async function refusesCleanly(call: () => unknown): Promise<string | undefined> {
  try {
    call();
    return undefined;
  } catch (err) {
    return err instanceof FhirError ? undefined : `threw ${signatureOf(err)}`;
  }
}

export const sdkFromFhir: Target = {
  name: 'sdk-from',
  what: 'fromFhir refuses bad FHIR only with a FhirError',
  async open() {
    return {
      seeds: fhirSeeds(),
      check: (input) => refusesCleanly(() => fromFhir(input as Resource)),
      close: async () => undefined,
    };
  },
};

export const sdkToFhir: Target = {
  name: 'sdk-to',
  what: 'toFhir refuses a bad domain record only with a DomainValidationError',
  async open() {
    return {
      seeds: Object.values(personas),
      async check(input) {
        try {
          toFhir(input as Parameters<typeof toFhir>[0]);
          return undefined;
        } catch (err) {
          return err instanceof DomainValidationError ? undefined : `threw ${signatureOf(err)}`;
        }
      },
      close: async () => undefined,
    };
  },
};
