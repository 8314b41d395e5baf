import type { Command } from 'commander';

// Owned by the SDK work (issue 4); replaced there.
export function registerMapCommand(_program: Command): void {}
