/**
 * Waits until our clock is past `instant` (an ISO instant): a write made after it gets a later
 * `lastUpdated` than one stamped at `instant`, so a test that orders writes by time does not meet a tie
 * (broken by random ids) on a fast machine.
 */
export async function afterInstant(instant: string | Date): Promise<void> {
  const at = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  while (Date.now() <= at) await new Promise((resolve) => setTimeout(resolve, 1));
}
