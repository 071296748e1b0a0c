import { createBrowserRouter, Navigate } from 'react-router-dom';
import { AuthForm } from '@/features/auth';
import { RequireAdmin, RequireSignedIn, RequireSignedOut } from './guards';
import { Layout } from './Layout';

export const router = createBrowserRouter([
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
]);
