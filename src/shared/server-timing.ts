// Reading a Server-Timing header (W3C): what a server says it spent on a request, by name.

/** Parses a Server-Timing header into name → milliseconds (entries without dur are skipped). */
export function parseServerTiming(header: string | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.split(';').map((p) => p.trim());
    const dur = params.find((p) => p.startsWith('dur='));
    const ms = dur ? Number(dur.slice(4)) : Number.NaN;
    if (name && Number.isFinite(ms)) out.set(name, (out.get(name) ?? 0) + ms);
  }
  return out;
}
