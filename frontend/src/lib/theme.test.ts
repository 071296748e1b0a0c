import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentTheme, setTheme, THEME_KEY, watchSystemTheme } from './theme';

function systemPrefersDark(dark: boolean) {
  const listeners: (() => void)[] = [];
  const query = { matches: dark, addEventListener: (_: string, listener: () => void) => listeners.push(listener) };
  vi.stubGlobal('matchMedia', () => query);
  return (next: boolean) => {
    query.matches = next;
    listeners.forEach((listener) => listener());
  };
}

afterEach(() => {
  localStorage.clear();
  document.documentElement.classList.remove('dark');
  vi.unstubAllGlobals();
});

describe('theme', () => {
  it("follows the system's setting while nothing is chosen, as it changes", () => {
    const change = systemPrefersDark(true);
    watchSystemTheme();
    expect(document.documentElement).toHaveClass('dark');
    change(false);
    expect(document.documentElement).not.toHaveClass('dark');
  });

  it('keeps a choice, against the system, across a reload', () => {
    const change = systemPrefersDark(true);
    watchSystemTheme();
    setTheme('light');
    expect(localStorage.getItem(THEME_KEY)).toBe('light');
    expect(document.documentElement).not.toHaveClass('dark');
    change(true);
    expect(currentTheme()).toBe('light');
    expect(document.documentElement).not.toHaveClass('dark');
  });
});
