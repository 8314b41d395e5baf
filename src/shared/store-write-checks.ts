/**
 * The validator's options (ValidateOptions) for a resource a store is about to keep — a write to the
 * facade, or a resource the sync pulls: a wrongly typed reference and an empty array are errors (a
 * store keeps references typed, even where the target is not at hand, and never keeps or echoes an
 * empty array), and no message quotes the resource's values (a refusal may be logged or shown where
 * client data must not appear). Here, not in the validation stage, so that naming them loads nothing.
 */
export const STORE_WRITE_CHECKS = {
  referenceTypes: 'error',
  emptyArrays: 'error',
  valuesInMessages: false,
} as const;
