import { useEffect, useRef } from 'react';
import { Button } from '@/components/Button';
import { SessionList } from './SessionList';

/** On a phone the conversations live in a drawer: a modal dialog from the left (focus stays inside,
 * Escape or the backdrop closes it, and focus goes back to the button that opened it). */
export function ConversationsDrawer({ activeId, open, onClose }: { activeId: string | undefined; open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  return (
    <dialog
      ref={dialog}
      id="conversations-drawer"
      aria-label="Conversations"
      onClose={onClose}
      onClick={(event) => event.target === dialog.current && onClose()}
      className="m-0 h-full max-h-none w-80 max-w-[85vw] bg-white p-0 text-slate-900 shadow-xl backdrop:bg-slate-950/50 md:hidden"
    >
      <div className="flex h-full flex-col">
        <div className="flex items-center justify-between border-b border-slate-200 px-3 py-2">
          <h2 className="text-base font-semibold">Conversations</h2>
          <Button variant="ghost" onClick={onClose}>
            Close
          </Button>
        </div>
        {open && <SessionList activeId={activeId} onPick={onClose} className="min-h-0 flex-1" />}
      </div>
    </dialog>
  );
}
