import type { Command } from 'commander';

// Owned by the sync work (issue 6); replaced there.
export function registerSyncCommand(_program: Command): void {}
