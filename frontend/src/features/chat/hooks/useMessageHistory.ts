import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { MessagePublic } from '@/lib/protocol';
import { chatKeys, fetchMessages } from '../api/chat-api';

/** A session's stored messages, oldest first; `fetchNextPage` loads the page before them. */
export function useMessageHistory(sessionId: string) {
  const query = useInfiniteQuery({
    queryKey: chatKeys.messages(sessionId),
    queryFn: ({ pageParam }) => fetchMessages(sessionId, pageParam),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (page) => page.next_before ?? undefined,
    // Fresh on every visit (turns streamed on an earlier visit are only in the database), but
    // not on focus: while the page is open, the socket writes what is new into this cache.
    staleTime: 0,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });
  const messages = useMemo(() => {
    const seen = new Set<number>();
    const ordered: MessagePublic[] = [];
    // pages[0] is the newest page; each page is oldest→newest.
    for (const page of [...(query.data?.pages ?? [])].reverse()) {
      for (const message of page.items) {
        if (seen.has(message.id)) continue;
        seen.add(message.id);
        ordered.push(message);
      }
    }
    return ordered;
  }, [query.data]);
  return { ...query, messages };
}
