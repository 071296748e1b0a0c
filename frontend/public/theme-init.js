// Runs before the first paint, so a dark page never flashes white; src/lib/theme.ts keeps it in step
// afterwards. A file, not an inline script: the production CSP allows scripts from 'self' only.
try {
  const saved = localStorage.getItem('attune.theme');
  const dark = saved ? saved === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.classList.toggle('dark', dark);
} catch {
  // No storage (a locked-down browser): the app's own start-up applies the system's setting.
}
