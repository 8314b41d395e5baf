export interface Limits {
  /** Largest accepted request body, in bytes or an expression such as "1mb". */
  bodyBytes: number | string;
  /** Deepest allowed JSON nesting. */
  jsonDepth: number;
  /** Most issues an OperationOutcome carries; the rest are summarised in one more issue. */
  outcomeIssues: number;
}

export const DEFAULT_LIMITS: Limits = { bodyBytes: '5mb', jsonDepth: 64, outcomeIssues: 1000 };
