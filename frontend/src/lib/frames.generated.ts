// Generated from frames.schema.json by scripts/gen-frames.mjs (npm run gen:frames): do not edit.
// The frames are defined in backend/frames.py (server -> client) and backend/schemas.py (client -> server).

/**
 * Every WebSocket frame of the Attune client protocol (docs/protocol.md), both directions. Generated from backend/frames.py and backend/schemas.py by scripts/gen_frame_types.py: do not edit.
 */
export type Frame = ClientFrame | ServerFrame;
export type ClientFrame = MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame;
export type ServerFrame =
  | ReadyFrame
  | AckFrame
  | EmotionFrame
  | TokenFrame
  | DoneFrame
  | ErrorFrame
  | PongFrame
  | CancelAckFrame
  | CompareAckFrame
  | CompareEmotionFrame
  | CompareTokenFrame
  | CompareReplyFrame
  | CompareErrorFrame
  | CompareDoneFrame;

export interface MessageFrame {
  type: 'message';
  client_id: string;
  content: string;
  model?: string | null;
  params?: DecodingParams | null;
  locale?: string | null;
  image?: ImageUpload | null;
}
/**
 * Sampling settings; ``None`` means "the model's own default from the registry" and any value,
 * 0 included, is the client's choice (``top_k`` 0: no top-k cut; ``no_repeat_ngram_size`` 0: off).
 */
export interface DecodingParams {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  max_new_tokens?: number | null;
  seed?: number | null;
  repetition_penalty?: number | null;
  no_repeat_ngram_size?: number | null;
}
/**
 * A message's photo; its size and bytes are checked in ``backend.chat.turn`` against the settings.
 */
export interface ImageUpload {
  media_type: 'image/jpeg' | 'image/png' | 'image/webp';
  /**
   * the photo's bytes, base64 (standard alphabet, padded)
   */
  data: string;
}
/**
 * One message answered by two models side by side (stored as a comparison, not in the chat).
 */
export interface CompareFrame {
  type: 'compare';
  client_id: string;
  content: string;
  /**
   * default: the session's model
   */
  model_a?: string | null;
  /**
   * default: the comparison model
   */
  model_b?: string | null;
  params?: DecodingParams | null;
}
export interface CancelFrame {
  type: 'cancel';
  job_id?: string | null;
}
export interface ResumeFrame {
  type: 'resume';
  job_id: string;
  /**
   * an event id ("0": from the start)
   */
  after?: string;
}
export interface PingFrame {
  type: 'ping';
}
export interface AuthFrame {
  type: 'auth';
  token: string;
}
/**
 * The socket is authenticated and attached to the session.
 */
export interface ReadyFrame {
  type: 'ready';
  protocol: number;
  session_id: string;
  model: string | null;
  /**
   * replies still being generated; send resume to receive them
   */
  in_flight: InFlightJob[];
}
export interface InFlightJob {
  job_id: string;
  user_message_id: number;
}
/**
 * The user message is stored (``duplicate``: it already was).
 */
export interface AckFrame {
  type: 'ack';
  client_id: string;
  message_id: number;
  /**
   * the job to follow; null while another replica is still queueing it
   */
  job_id: string | null;
  duplicate: boolean;
}
/**
 * The user message's emotion, before the first token.
 */
export interface EmotionFrame {
  type: 'emotion';
  job_id: string;
  message_id: number;
  emotion: EmotionReading;
  event_id: string | null;
}
/**
 * A classifier's view of one text (or photo): the top label and the full distribution.
 */
export interface EmotionReading {
  label: string;
  scores: {
    [k: string]: number;
  };
  model: string | null;
  fusion: FusedEmotion | null;
}
/**
 * Both readings behind a fused one, so a client can show each (docs/protocol.md, "Photos").
 */
export interface FusedEmotion {
  source: 'fused_aligned' | 'fused_conflict' | 'text_only';
  confidence: number;
  text: EmotionReading;
  face: EmotionReading | null;
  face_error: string | null;
}
/**
 * The next piece of the reply: a delta only, never the text so far.
 */
export interface TokenFrame {
  type: 'token';
  job_id: string;
  index: number;
  text: string;
  event_id: string | null;
}
/**
 * The finished reply, already stored.
 */
export interface DoneFrame {
  type: 'done';
  job_id: string;
  message: MessagePublic;
  cached: boolean;
  timings: DoneTimings;
  safety: SafetyVerdict | null;
  alignment: number | null;
  finish_reason: 'stop' | 'length' | 'cancelled' | 'safety';
  /**
   * null when answered from storage or the cache, not a stream
   */
  event_id: string | null;
}
export interface MessagePublic {
  id: number;
  session_id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  cached: boolean;
  status: string;
  created_at: string;
  client_id: string | null;
  reply_to_id: number | null;
  emotion: EmotionReading | null;
  alignment: number | null;
  safety: SafetyVerdict | null;
  extras: {
    [k: string]: unknown;
  };
  latency_ms: number | null;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}
export interface SafetyVerdict {
  crisis: boolean;
  toxic: boolean;
  level: 'none' | 'third_party' | 'ideation' | 'imminent';
  language: string | null;
  session_risk: boolean;
  fixed_reply: boolean;
  reasons: string[];
  resources: {
    [k: string]: string;
  }[];
}
export interface DoneTimings {
  ttft_ms: number | null;
  duration_ms: number | null;
}
/**
 * A refused frame or a failed reply (codes in docs/protocol.md); the socket stays open.
 *
 * ``message_id``: the stored message a ``busy`` resend is about; ``event_id``: set when the error
 * is the reply's own event, its position in the job's stream.
 */
export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  job_id?: string | null;
  client_id?: string | null;
  message_id?: number | null;
  event_id?: string | null;
}
export interface PongFrame {
  type: 'pong';
}
/**
 * The answer to ``cancel``: ``running`` false means the reply had already finished.
 */
export interface CancelAckFrame {
  type: 'cancel_ack';
  job_id: string;
  running: boolean;
}
export interface CompareAckFrame {
  type: 'compare_ack';
  client_id: string;
  comparison_id: string;
  duplicate: boolean;
  sides: CompareSide[];
}
export interface CompareSide {
  slot: 'a' | 'b';
  model: string;
  job_id: string;
}
export interface CompareEmotionFrame {
  type: 'compare_emotion';
  comparison_id: string;
  slot: 'a' | 'b';
  job_id: string;
  emotion: EmotionReading;
  event_id: string;
}
export interface CompareTokenFrame {
  type: 'compare_token';
  comparison_id: string;
  slot: 'a' | 'b';
  job_id: string;
  index: number;
  text: string;
  event_id: string;
}
/**
 * One side finished and is stored.
 */
export interface CompareReplyFrame {
  type: 'compare_reply';
  comparison_id: string;
  slot: 'a' | 'b';
  job_id: string;
  reply: ComparisonReplyPublic;
  /**
   * null when replayed from storage
   */
  event_id: string | null;
}
export interface ComparisonReplyPublic {
  slot: 'a' | 'b';
  model: string;
  job_id: string;
  status: 'pending' | 'complete' | 'cancelled' | 'error';
  content: string | null;
  model_version: string | null;
  finish_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  user_emotion: EmotionReading | null;
  reply_emotion: EmotionReading | null;
  alignment: number | null;
  safety: SafetyVerdict | null;
  error_code: string | null;
  error_message: string | null;
}
/**
 * One side failed (codes as for ``error``); the other goes on.
 */
export interface CompareErrorFrame {
  type: 'compare_error';
  comparison_id: string;
  slot: 'a' | 'b';
  job_id: string;
  code: string;
  message: string;
  event_id?: string | null;
}
export interface CompareDoneFrame {
  type: 'compare_done';
  comparison: ComparisonPublic;
}
export interface ComparisonPublic {
  id: string;
  session_id: string;
  content: string;
  created_at: string;
  preferred: ('a' | 'b' | 'tie') | null;
  adopted_message_id: number | null;
  replies: ComparisonReplyPublic[];
}
