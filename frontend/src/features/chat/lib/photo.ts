import type { ImageMediaType, ImageUpload, LimitsPublic } from '@/lib/protocol';

/** A photo picked for the next message, checked against the server's limits and read into base64. */
export interface AttachedPhoto {
  upload: ImageUpload;
  name: string;
  bytes: number;
}

export type PhotoLimits = Pick<LimitsPublic, 'image_bytes' | 'image_types'>;

/** Longest side a photo too big to send is scaled down to (the face model reads 224x224). */
const SHRINK_TO_PX = 1024;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} bytes`;
}

/**
 * The photo ready to send, or why it cannot be: the same rules the server applies (type, size),
 * so a refused photo is explained before anything is sent. A photo over the size limit is scaled
 * down first where the browser can (a phone picture is often several MiB).
 */
export async function readPhoto(file: File, limits: PhotoLimits): Promise<{ photo: AttachedPhoto } | { error: string }> {
  if (limits.image_bytes <= 0) return { error: 'This server does not accept photos.' };
  if (!limits.image_types.includes(file.type as ImageMediaType)) {
    return { error: `Photos must be JPEG, PNG or WebP; this file is ${file.type || 'of an unknown type'}.` };
  }
  let blob: Blob = file;
  let mediaType = file.type as ImageMediaType;
  if (file.size > limits.image_bytes) {
    const smaller = await shrink(file);
    if (!smaller || smaller.size > limits.image_bytes) {
      return { error: `This photo is ${formatBytes(file.size)}; photos can be at most ${formatBytes(limits.image_bytes)}.` };
    }
    blob = smaller;
    mediaType = 'image/jpeg';
  }
  return { photo: { upload: { media_type: mediaType, data: await base64Of(blob) }, name: file.name, bytes: blob.size } };
}

function base64Of(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the photo'));
    reader.readAsDataURL(blob);
  });
}

/** A JPEG of the photo at most SHRINK_TO_PX on its longest side; null where the browser cannot draw it. */
async function shrink(file: File): Promise<Blob | null> {
  if (typeof createImageBitmap !== 'function' || typeof document === 'undefined') return null;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, SHRINK_TO_PX / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  } catch {
    return null;
  }
}
