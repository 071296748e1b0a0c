import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders, stubApi } from '@/test/render';
import { Composer } from './Composer';

afterEach(() => vi.unstubAllGlobals());

const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

function renderComposer(messageChars = 4000, imageBytes = 1024 * 1024, allowPhoto = true) {
  stubApi({
    'GET /api/limits': () => ({ message_chars: messageChars, journal_chars: 10_000, image_bytes: imageBytes, image_types: imageBytes ? PHOTO_TYPES : [] }),
  });
  const onSend = vi.fn();
  renderWithProviders(<Composer onSend={onSend} onStop={() => {}} replying={false} disabled={false} allowPhoto={allowPhoto} />);
  return onSend;
}

const PNG_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const base64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

async function paste(text: string) {
  await userEvent.click(screen.getByLabelText('Message'));
  await userEvent.paste(text);
}

describe('Composer', () => {
  it('keeps a 20,000-character paste whole, says it is over the limit and sends nothing', async () => {
    const onSend = renderComposer();
    const pasted = 'word '.repeat(4000).trim(); // 19,999 characters
    await paste(pasted);
    const box = screen.getByLabelText('Message') as HTMLTextAreaElement;
    expect(box.value).toBe(pasted);
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('19,999 / 4,000 characters');
    expect(screen.getByRole('alert')).toHaveTextContent('This message is 15,999 characters over the limit of 4,000');
    expect(screen.getByRole('button', { name: 'Send' })).toBeDisabled();
    await userEvent.type(box, '{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    expect(box.value).toBe(pasted);
  });

  it('shows the counter only near the limit the server reports, and sends at the limit', async () => {
    const onSend = renderComposer(100);
    await paste('short');
    expect(screen.queryByTestId('length-counter')).not.toBeInTheDocument();
    await paste('x'.repeat(85));
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('90 / 100 characters');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    await paste('x'.repeat(10));
    await userEvent.keyboard('{Enter}');
    expect(onSend).toHaveBeenCalledWith(`short${'x'.repeat(95)}`);
  });

  it('counts an emoji as one character, as the server does', async () => {
    renderComposer(100);
    await paste('😊'.repeat(90));
    expect(await screen.findByTestId('length-counter')).toHaveTextContent('90 / 100 characters');
  });

  it('attaches a photo, says it is not stored, and sends it with the next message only', async () => {
    const onSend = renderComposer();
    const input = await screen.findByLabelText('Attach a photo');
    expect(input).toHaveAttribute('accept', PHOTO_TYPES.join(','));
    await userEvent.upload(input, new File([PNG_BYTES], 'me.png', { type: 'image/png' }));
    expect(await screen.findByTestId('attached-photo')).toHaveTextContent('Photo attached: me.png (12 bytes)');
    expect(screen.getByTestId('attached-photo')).toHaveTextContent('not stored');
    await paste('this is me today');
    await userEvent.keyboard('{Enter}');
    expect(onSend).toHaveBeenCalledWith('this is me today', { media_type: 'image/png', data: base64(PNG_BYTES) });
    expect(screen.queryByTestId('attached-photo')).not.toBeInTheDocument();
    await paste('and without one');
    await userEvent.keyboard('{Enter}');
    expect(onSend).toHaveBeenLastCalledWith('and without one');
  });

  it('refuses a photo of the wrong type or over the limit with the reason, and can remove one', async () => {
    const onSend = renderComposer(4000, 1024);
    const user = userEvent.setup({ applyAccept: false });
    const input = await screen.findByLabelText('Attach a photo');
    await user.upload(input, new File(['GIF89a'], 'cat.gif', { type: 'image/gif' }));
    expect(await screen.findByTestId('photo-error')).toHaveTextContent('Photos must be JPEG, PNG or WebP; this file is image/gif.');
    await user.upload(input, new File([new Uint8Array(2048)], 'big.jpg', { type: 'image/jpeg' }));
    expect(await screen.findByTestId('photo-error')).toHaveTextContent('This photo is 2.0 KiB; photos can be at most 1.0 KiB.');
    expect(screen.queryByTestId('attached-photo')).not.toBeInTheDocument();

    await user.upload(input, new File([PNG_BYTES], 'me.png', { type: 'image/png' }));
    expect(await screen.findByTestId('attached-photo')).toBeInTheDocument();
    expect(screen.queryByTestId('photo-error')).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Remove photo' }));
    expect(screen.queryByTestId('attached-photo')).not.toBeInTheDocument();
    await paste('just words');
    await user.keyboard('{Enter}');
    expect(onSend).toHaveBeenCalledWith('just words');
  });

  it('offers no photo control when the server takes none, or in a comparison', async () => {
    renderComposer(4000, 0);
    await screen.findByLabelText('Message');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Photo' })).not.toBeInTheDocument());
    expect(screen.queryByLabelText('Attach a photo')).not.toBeInTheDocument();
  });

  it('hides the photo control while comparing models', async () => {
    renderComposer(4000, 1024 * 1024, false);
    await screen.findByLabelText('Message');
    await waitFor(() => expect(screen.queryByLabelText('Attach a photo')).not.toBeInTheDocument());
  });

  describe('a webcam snapshot', () => {
    const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 9, 9]);
    afterEach(() => vi.restoreAllMocks());

    function stubCamera(getUserMedia: () => Promise<unknown>) {
      vi.stubGlobal('navigator', { ...navigator, mediaDevices: { getUserMedia: vi.fn(getUserMedia) } });
    }

    it('asks for the camera only after saying why, and sends the snapshot with the next message', async () => {
      const track = { stop: vi.fn() };
      stubCamera(async () => ({ getTracks: () => [track] }));
      vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue();
      vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
      vi.spyOn(HTMLCanvasElement.prototype, 'toBlob').mockImplementation((done) => done(new Blob([JPEG], { type: 'image/jpeg' })));
      const onSend = renderComposer();
      await userEvent.click(await screen.findByRole('button', { name: 'Camera' }));
      const dialog = screen.getByRole('dialog', { name: 'Camera snapshot' });
      expect(dialog).toHaveTextContent('is not stored. Your browser will ask to use the camera.');
      expect(navigator.mediaDevices.getUserMedia).not.toHaveBeenCalled();
      await userEvent.click(screen.getByRole('button', { name: 'Allow camera' }));
      expect(navigator.mediaDevices.getUserMedia).toHaveBeenCalledWith({ video: { facingMode: 'user' }, audio: false });
      await userEvent.click(await screen.findByRole('button', { name: 'Take snapshot' }));
      expect(track.stop).toHaveBeenCalled(); // the camera is off as soon as the snapshot is taken
      expect(await screen.findByTestId('attached-photo')).toHaveTextContent('Photo attached: snapshot.jpg');
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
      await paste('me, right now');
      await userEvent.keyboard('{Enter}');
      expect(onSend).toHaveBeenCalledWith('me, right now', { media_type: 'image/jpeg', data: base64(JPEG) });
    });

    it('says so when the camera is not allowed', async () => {
      stubCamera(async () => {
        throw new DOMException('denied', 'NotAllowedError');
      });
      renderComposer();
      await userEvent.click(await screen.findByRole('button', { name: 'Camera' }));
      await userEvent.click(screen.getByRole('button', { name: 'Allow camera' }));
      expect(await screen.findByRole('alert')).toHaveTextContent('The camera was not allowed. You can still attach a photo');
      await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    });
  });
});
