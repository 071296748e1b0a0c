import { useEffect, useRef, useState } from 'react';
import { Button } from '@/components/Button';

interface Props {
  /** The snapshot, as a JPEG file, once the person took one. */
  onSnapshot: (file: File) => void;
  onClose: () => void;
}

type Phase = 'explain' | 'asking' | 'live' | 'denied';

/**
 * A webcam snapshot for the next message. The camera is asked for only after the person read what
 * it is for and pressed "Allow camera" (then the browser's own permission prompt shows), and it is
 * switched off as soon as the snapshot is taken or the panel closes.
 */
export function CameraSnapshot({ onSnapshot, onClose }: Props) {
  const [phase, setPhase] = useState<Phase>('explain');
  const [problem, setProblem] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const stream = useRef<MediaStream | null>(null);

  const stop = () => {
    for (const track of stream.current?.getTracks() ?? []) track.stop();
    stream.current = null;
  };
  useEffect(() => stop, []);

  const allow = async () => {
    setPhase('asking');
    try {
      stream.current = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user' }, audio: false });
      setPhase('live');
    } catch (error) {
      setPhase('denied');
      setProblem(
        error instanceof DOMException && error.name === 'NotAllowedError'
          ? 'The camera was not allowed. You can still attach a photo, or allow the camera in the browser settings.'
          : 'No camera could be opened on this device.',
      );
    }
  };

  useEffect(() => {
    if (phase === 'live' && video.current && stream.current) {
      video.current.srcObject = stream.current;
      void video.current.play?.();
    }
  }, [phase]);

  const take = () => {
    const source = video.current;
    if (!source) return;
    const canvas = document.createElement('canvas');
    canvas.width = source.videoWidth || 640;
    canvas.height = source.videoHeight || 480;
    canvas.getContext('2d')?.drawImage(source, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(
      (blob) => {
        stop();
        if (!blob) {
          setPhase('denied');
          setProblem('The snapshot could not be taken.');
          return;
        }
        onSnapshot(new File([blob], 'snapshot.jpg', { type: 'image/jpeg' }));
      },
      'image/jpeg',
      0.85,
    );
  };

  const close = () => {
    stop();
    onClose();
  };

  return (
    <div role="dialog" aria-label="Camera snapshot" className="flex flex-col gap-2 rounded-md border border-slate-200 bg-slate-50 p-2 text-xs text-slate-700">
      {phase === 'explain' || phase === 'asking' ? (
        <p>
          Attune can read the emotion on your face from one snapshot, together with your words. The snapshot goes with your
          next message only and is not stored. Your browser will ask to use the camera.
        </p>
      ) : null}
      {phase === 'live' && <video ref={video} muted playsInline aria-label="Camera preview" className="max-h-48 w-fit rounded" />}
      {problem && (
        <p role="alert" className="font-medium text-rose-700">
          {problem}
        </p>
      )}
      <div className="flex gap-2">
        {(phase === 'explain' || phase === 'asking') && (
          <Button variant="secondary" disabled={phase === 'asking'} onClick={() => void allow()}>
            Allow camera
          </Button>
        )}
        {phase === 'live' && <Button onClick={take}>Take snapshot</Button>}
        <Button variant="ghost" onClick={close}>
          Cancel
        </Button>
      </div>
    </div>
  );
}
