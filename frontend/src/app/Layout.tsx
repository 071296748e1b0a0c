import type { MouseEvent } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { Button } from '@/components/Button';
import { ThemeToggle } from '@/components/ThemeToggle';
import { useLogout, useUser } from '@/features/auth';

const linkClass = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-3 py-1.5 text-sm font-medium focus-visible:outline-2 focus-visible:outline-indigo-600 ${isActive ? 'bg-indigo-100 text-indigo-900' : 'text-slate-700 hover:bg-slate-100'}`;

const SKIP_LINK = 'sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded focus:bg-white focus:px-3 focus:py-2';

/** The link alone would scroll to the box without moving the keyboard focus into it. */
function toComposer(event: MouseEvent<HTMLAnchorElement>) {
  const composer = document.getElementById('composer');
  if (!composer) return;
  event.preventDefault();
  composer.focus();
}

export function Layout() {
  const { pathname } = useLocation();
  const { user } = useUser();
  const logout = useLogout();
  return (
    <div className="flex h-full flex-col">
      {/* First in the tab order: on the chat, the message box is one Tab and Enter away, however many conversations there are. */}
      {pathname.startsWith('/chat') && (
        <a href="#composer" className={SKIP_LINK} onClick={toComposer}>
          Skip to message box
        </a>
      )}
      <a href="#content" className={SKIP_LINK}>
        Skip to content
      </a>
      <header className="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 bg-white px-3 py-2">
        <div className="flex items-center gap-3">
          <span className="text-lg font-semibold text-indigo-700">Attune</span>
          <nav aria-label="Main" className="flex gap-1">
            <NavLink to="/chat" className={linkClass}>
              Chat
            </NavLink>
            <NavLink to="/journal" className={linkClass}>
              Journal
            </NavLink>
            {user?.role === 'admin' && (
              <NavLink to="/admin" className={linkClass}>
                Admin
              </NavLink>
            )}
          </nav>
        </div>
        <div className="flex items-center gap-2 text-sm">
          <span className="hidden text-slate-600 sm:inline" data-testid="current-user">
            {user?.display_name ?? user?.email}
          </span>
          <ThemeToggle />
          <Button variant="secondary" onClick={logout}>
            Log out
          </Button>
        </div>
      </header>
      <div id="content" className="flex min-h-0 flex-1 flex-col overflow-y-auto">
        <Outlet />
      </div>
    </div>
  );
}
