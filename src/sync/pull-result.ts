/** What one pull did, for its caller, status and the CLI (both adapters count into one). */
export interface PullResult {
  patients: number;
  fetched: number;
  applied: number;
  unchanged: number;
  skipped: number;
  /** Fetched resources not stored: they fail what a write to our facade must pass (pull-check.ts). */
  refused: number;
  /** Local copies deleted because the remote deleted them (its type history says so: pull-deletes.ts). */
  deleted: number;
  /**
   * Remote deletes not applied here (each counted in `skipped`): the local resource (`Type/id`) and
   * why — local changes not on the remote, or resources here that still refer to it.
   */
  skippedDeletes: { resource: string; reason: string }[];
  /**
   * Pulled types whose remote deletes this pull could not look for, and why: no type history there
   * (refused), no answer or an error after every retry, or the pull's bound ran out first.
   */
  deletesNotChecked: { type: string; reason: string }[];
  /** Clients the local store holds data for that this pull could not follow, and why. */
  skippedClients: { patient: string; reason: string }[];
}

/** A pull that has not fetched anything yet (both adapters count into one). */
export function emptyPullResult(): PullResult {
  return {
    patients: 0,
    fetched: 0,
    applied: 0,
    unchanged: 0,
    skipped: 0,
    refused: 0,
    deleted: 0,
    skippedDeletes: [],
    deletesNotChecked: [],
    skippedClients: [],
  };
}
