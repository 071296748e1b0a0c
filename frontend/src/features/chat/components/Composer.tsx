import { useRef, useState, type ChangeEvent, type FormEvent, type KeyboardEvent } from 'react';
import { Button } from '@/components/Button';
import { LengthLimit } from '@/components/LengthLimit';
import { useLimits } from '@/hooks/useLimits';
import { charCount } from '@/lib/limits';
import type { ImageUpload } from '@/lib/protocol';
import { formatBytes, readPhoto, type AttachedPhoto } from '../lib/photo';
import { CameraSnapshot } from './CameraSnapshot';

interface Props {
  /** `photo`: a picture of the person for this turn's emotion, when one is attached. */
  onSend: (text: string, photo?: ImageUpload) => void;
  onStop: () => void;
  replying: boolean;
  disabled: boolean;
  autoFocus?: boolean;
  initialText?: string;
  /** Offer the photo control (a comparison takes no photo). */
  allowPhoto?: boolean;
}

export function Composer({ onSend, onStop, replying, disabled, autoFocus = false, initialText = '', allowPhoto = true }: Props) {
  const [text, setText] = useState(initialText);
  const [photo, setPhoto] = useState<AttachedPhoto | null>(null);
  const [photoError, setPhotoError] = useState<string | null>(null);
  const [camera, setCamera] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const limits = useLimits().data;
  const limit = limits?.message_chars;
  const photosOn = allowPhoto && (limits?.image_bytes ?? 0) > 0;
  const trimmed = text.trim();
  const count = charCount(trimmed);
  // Text over the limit stays in the box for the writer to shorten: it is never cut or sent.
  const over = limit !== undefined && count > limit;

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!trimmed || replying || over) return;
    if (photo && photosOn) onSend(trimmed, photo.upload);
    else onSend(trimmed);
    setText('');
    setPhoto(null);
  };

  const attachFile = async (file: File) => {
    if (!limits) return;
    const read = await readPhoto(file, limits);
    setPhoto('photo' in read ? read.photo : null);
    setPhotoError('error' in read ? read.error : null);
  };

  const attach = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = ''; // the same file can be picked again after removing it
    if (file) await attachFile(file);
  };
  const cameraAvailable = typeof navigator !== 'undefined' && typeof navigator.mediaDevices?.getUserMedia === 'function';

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <form onSubmit={submit} className="flex flex-col gap-1 border-t border-slate-200 bg-white p-3">
      <div className="flex items-end gap-2">
        <label htmlFor="composer" className="sr-only">
          Message
        </label>
        <textarea
          id="composer"
          rows={2}
          value={text}
          autoFocus={autoFocus}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
          aria-invalid={over || undefined}
          aria-describedby="composer-length"
          placeholder="How are you feeling today? (Enter to send, Shift+Enter for a new line)"
          className="min-h-[2.75rem] flex-1 resize-y rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600"
        />
        {photosOn && (
          <>
            <input
              ref={fileInput}
              id="composer-photo"
              type="file"
              accept={limits?.image_types.join(',')}
              className="sr-only"
              aria-label="Attach a photo"
              onChange={(event) => void attach(event)}
            />
            <Button
              variant="secondary"
              onClick={() => fileInput.current?.click()}
              title="Attach a photo of yourself: Attune reads the emotion on your face with your words (the photo is not stored)"
            >
              Photo
            </Button>
            {cameraAvailable && (
              <Button variant="secondary" onClick={() => setCamera(true)} aria-expanded={camera}>
                Camera
              </Button>
            )}
          </>
        )}
        {replying ? (
          <Button variant="danger" onClick={onStop}>
            Stop
          </Button>
        ) : (
          <Button type="submit" disabled={disabled || !trimmed || over}>
            Send
          </Button>
        )}
      </div>
      {camera && photosOn && (
        <CameraSnapshot
          onSnapshot={(file) => {
            setCamera(false);
            void attachFile(file);
          }}
          onClose={() => setCamera(false)}
        />
      )}
      {photo && photosOn && (
        <p className="flex items-center gap-2 text-xs text-slate-600" data-testid="attached-photo">
          <span>
            Photo attached: {photo.name} ({formatBytes(photo.bytes)}). It is read for your emotion with this message and
            not stored.
          </span>
          <button type="button" className="font-medium text-indigo-700 underline" onClick={() => setPhoto(null)}>
            Remove photo
          </button>
        </p>
      )}
      {photoError && (
        <p role="alert" className="text-xs font-medium text-rose-700" data-testid="photo-error">
          {photoError}
        </p>
      )}
      {limit !== undefined && <LengthLimit id="composer-length" count={count} limit={limit} noun="message" />}
    </form>
  );
}
