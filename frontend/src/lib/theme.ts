// Light or dark: the person's saved choice, else the system's `prefers-color-scheme`, applied as
// `html.dark` (src/theme-dark.css flips the palettes under it). index.html applies it before the
// first paint, so a dark page never flashes white; this module keeps it in step afterwards.
export type Theme = 'light' | 'dark';

export const THEME_KEY = 'attune.theme';
const listeners = new Set<() => void>();
const systemDark = () => window.matchMedia?.('(prefers-color-scheme: dark)');

export function savedTheme(): Theme | null {
  const saved = localStorage.getItem(THEME_KEY);
  return saved === 'light' || saved === 'dark' ? saved : null;
}

export function currentTheme(): Theme {
  return savedTheme() ?? (systemDark()?.matches ? 'dark' : 'light');
}

function apply(): void {
  document.documentElement.classList.toggle('dark', currentTheme() === 'dark');
  listeners.forEach((listener) => listener());
}

/** Saves the choice (it outlasts a reload and a sign-out) and applies it. */
export function setTheme(theme: Theme): void {
  localStorage.setItem(THEME_KEY, theme);
  apply();
}

/** Follows the system's setting while nothing is saved; call once at start-up. */
export function watchSystemTheme(): void {
  systemDark()?.addEventListener('change', apply);
  apply();
}

export function onThemeChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
