import { useSyncExternalStore } from 'react';
import { currentTheme, onThemeChange, setTheme } from '@/lib/theme';

/** "Dark mode" on or off; starts as the system's setting, and a click is remembered. */
export function ThemeToggle() {
  const theme = useSyncExternalStore(onThemeChange, currentTheme);
  const dark = theme === 'dark';
  return (
    <button
      type="button"
      aria-pressed={dark}
      onClick={() => setTheme(dark ? 'light' : 'dark')}
      className="inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm text-slate-800 hover:bg-slate-100"
      data-testid="theme-toggle"
    >
      <span aria-hidden="true">{dark ? '☾' : '☀'}</span>
      Dark mode
    </button>
  );
}
