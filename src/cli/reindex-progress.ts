// What a command that opens the store says while the store rebuilds its search index (once, after an
// upgrade that indexes more): on stderr, so the command's own output stays clean.

/** `OpenStoreOptions.onReindex` for the commands that print to a terminal. */
export function printReindexProgress(indexed: number, done: boolean): void {
  const count = `${indexed} resource${indexed === 1 ? '' : 's'}`;
  process.stderr.write(
    done
      ? `tyokyky: search index rebuilt (${count})\n`
      : `tyokyky: rebuilding the search index after an upgrade: ${count} so far\n`,
  );
}
