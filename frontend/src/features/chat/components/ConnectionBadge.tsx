import type { Connection } from '../hooks/useChatStream';

const LABELS: Record<Connection['status'], { text: string; dot: string }> = {
  connecting: { text: 'Connecting…', dot: 'bg-amber-400' },
  open: { text: 'Connected', dot: 'bg-emerald-500' },
  reconnecting: { text: 'Reconnecting…', dot: 'bg-amber-400 animate-pulse' },
  closed: { text: 'Disconnected', dot: 'bg-slate-400' },
  unauthorized: { text: 'Signed out', dot: 'bg-rose-500' },
  not_found: { text: 'Conversation not found', dot: 'bg-rose-500' },
};

export function ConnectionBadge({ connection }: { connection: Connection }) {
  const { text, dot } = LABELS[connection.status];
  const retry = connection.status === 'reconnecting' && connection.retryInMs !== null ? ` (retry in ${Math.ceil(connection.retryInMs / 1000)} s)` : '';
  return (
    <span role="status" data-testid="connection-status" data-status={connection.status} className="inline-flex items-center gap-1.5 text-xs text-slate-600">
      <span aria-hidden="true" className={`h-2 w-2 rounded-full ${dot}`} />
      {text}
      {retry}
    </span>
  );
}
