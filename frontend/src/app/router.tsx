import { createBrowserRouter, Navigate, type RouteObject } from 'react-router-dom';
import { Spinner } from '@/components/Spinner';
import { AuthForm } from '@/features/auth';
import { RequireAdmin, RequireSignedIn, RequireSignedOut } from './guards';
import { Layout } from './Layout';

function AppLoading() {
  return (
    <div className="flex min-h-screen items-center justify-center">
      <Spinner label="Loading Attune" />
    </div>
  );
}

export const routes: RouteObject[] = [
  {
    // Shown while the first page's code loads (its route is lazy); without it React Router warns on every load.
    HydrateFallback: AppLoading,
    children: [
      {
        element: <RequireSignedOut />,
        children: [
          { path: '/login', element: <AuthForm mode="login" /> },
          { path: '/signup', element: <AuthForm mode="signup" /> },
        ],
      },
      {
        element: <RequireSignedIn />,
        children: [
          {
            element: <Layout />,
            children: [
              { path: '/', element: <Navigate to="/chat" replace /> },
              // Each page's code (markdown, charts) loads when the page is first opened.
              { path: '/chat/:sessionId?', lazy: async () => ({ Component: (await import('@/features/chat')).ChatPage }) },
              { path: '/journal', lazy: async () => ({ Component: (await import('@/features/journal')).JournalPage }) },
              {
                element: <RequireAdmin />,
                children: [{ path: '/admin', lazy: async () => ({ Component: (await import('@/features/admin')).AdminPage }) }],
              },
              { path: '*', element: <p className="p-6">Page not found.</p> },
            ],
          },
        ],
      },
    ],
  },
];

export const router = createBrowserRouter(routes);
