import type { Command } from 'commander';

// Owned by the validator work (issue 2); replaced there.
export function registerValidateCommand(_program: Command): void {}
