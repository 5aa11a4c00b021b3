// Polling for the host tests that watch processes and devices go away after a signal: a
// condition checked every 100 ms until it holds or `ms` have passed (then checked once more).
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}
