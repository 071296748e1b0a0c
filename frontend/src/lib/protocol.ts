// The client protocol of docs/protocol.md as TypeScript types.
// `protocol.test.ts` parses that document and fails when these types drift from it; the
// `*_FIELDS` tables below are the runtime mirror it compares, and the type-level checks at the
// bottom make `tsc` fail when a table and its type disagree.

// The client protocol's version: docs/protocol.md's title and `ready.protocol`, defined in
// backend/schemas.py (PROTOCOL_VERSION); protocol.test.ts and the backend's tests check they agree.
export const PROTOCOL_VERSION = 1;

export type Role = 'user' | 'admin';

export interface UserPublic {
  id: number;
  email: string;
  display_name: string | null;
  role: Role;
  created_at: string;
}

export interface TokenPublic {
  access_token: string;
  token_type: 'bearer';
  user: UserPublic;
}

export interface ErrorBody {
  detail: { code: string; message: string };
}

export interface EmotionReading {
  label: string;
  scores: Record<string, number>;
  /** Only on a user message sent with a photo: how the text's and the face's readings were fused. */
  fusion?: FusedEmotion | null;
}

export type FusionSource = 'fused_aligned' | 'fused_conflict' | 'text_only';

/** docs/protocol.md, "Photos". */
export interface FusedEmotion {
  source: FusionSource;
  confidence: number;
  text: EmotionReading & { model?: string | null };
  face: (EmotionReading & { model?: string | null }) | null;
  face_error: string | null;
}

export type ImageMediaType = 'image/jpeg' | 'image/png' | 'image/webp';

/** A message's photo: read by the worker in memory, never stored. */
export interface ImageUpload {
  media_type: ImageMediaType;
  /** The bytes, base64 (standard alphabet, padded). */
  data: string;
}

export type CrisisResource = Record<string, string>;

/** imminent and ideation: the writer is at risk; third_party: they are worried about someone else. */
export type SafetyLevel = 'none' | 'third_party' | 'ideation' | 'imminent';

export interface SafetyVerdict {
  crisis: boolean;
  toxic: boolean;
  /** Absent in replies stored before safety levels existed. */
  level?: SafetyLevel;
  language?: string | null;
  /** An earlier turn of this session was a crisis: the help lines stay in view. */
  session_risk?: boolean;
  /** The reply is a fixed text of the safety layer, not the model's words. */
  fixed_reply?: boolean;
  reasons: string[];
  resources: CrisisResource[];
}

export interface SessionPublic {
  id: string;
  title: string;
  model: string | null;
  created_at: string;
  updated_at: string;
}

export interface SessionList {
  items: SessionPublic[];
  total: number;
}

export type MessageStatus = 'complete' | 'cancelled' | 'error';

export interface MessagePublic {
  id: number;
  session_id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  cached: boolean;
  status: MessageStatus;
  created_at: string;
  client_id: string | null;
  reply_to_id: number | null;
  emotion: EmotionReading | null;
  alignment: number | null;
  safety: SafetyVerdict | null;
  extras: Record<string, unknown>;
  latency_ms: number | null;
  ttft_ms: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

export interface MessagePage {
  items: MessagePublic[];
  next_before: number | null;
}

/** The lengths the server enforces, in characters (code points, as the server counts them). */
export interface LimitsPublic {
  message_chars: number;
  journal_chars: number;
  /** The largest photo a message may carry, decoded, in bytes (0: photos are off). */
  image_bytes: number;
  image_types: ImageMediaType[];
}

export type ModelState = 'available' | 'loaded' | 'loading' | 'building' | 'unavailable';

export interface ModelPublic {
  name: string;
  kind: string;
  state: ModelState;
  reason: string | null;
  default: boolean;
  description: string | null;
  /** While `building`: the share done (0..1) and the seconds left, estimated; else null. */
  progress: number | null;
  eta_s: number | null;
}

/** A model, chat or classifier, that a first run is still building (GET /api/builds). */
export interface BuildPublic {
  name: string;
  kind: string;
  progress: number;
  eta_s: number | null;
  reason: string | null;
}

export const MOODS = ['joy', 'sadness', 'fear', 'anger', 'love', 'surprise'] as const;
export type Mood = (typeof MOODS)[number];

export interface JournalEntryPublic {
  id: number;
  text: string;
  mood: Mood | 'pending';
  mood_scores: Record<string, number> | null;
  classifier_version: string | null;
  created_at: string;
  updated_at: string;
}

export interface JournalList {
  items: JournalEntryPublic[];
  total: number;
}

export interface JournalStatsBucket {
  start: string;
  counts: Partial<Record<Mood, number>>;
  mean_scores: Partial<Record<Mood, number>>;
}

export interface JournalStats {
  buckets: JournalStatsBucket[];
  totals: Partial<Record<Mood, number>>;
}

export interface AdminModel {
  name: string;
  kind: string;
  state: ModelState;
  reason: string | null;
  memory_bytes: number | null;
  default: boolean;
  /** Answers chat turns (classifiers and the face model do not): only these can be the default. */
  chat: boolean;
  description: string | null;
  workers: string[];
  progress: number | null;
  eta_s: number | null;
}

export interface WorkerPublic {
  worker_id: string;
  host: string;
  pid: number;
  models: string[];
  heartbeat_age_s: number;
  active_jobs: number;
  queue_depth: Record<string, number>;
}

export interface CacheStats {
  hits: number;
  misses: number;
  hit_ratio: number;
  entries: number;
}

export interface RetagProgress {
  state: 'idle' | 'running' | 'done';
  total: number;
  done: number;
  classifier_version: string | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface AuditEntry {
  id: number;
  actor_email: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

export interface AuditList {
  items: AuditEntry[];
  total: number;
}

// --- WebSocket frames ----------------------------------------------------------------------

export interface DecodingParams {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_new_tokens?: number;
  seed?: number;
  repetition_penalty?: number;
  no_repeat_ngram_size?: number;
}

export interface AuthFrame {
  type: 'auth';
  token: string;
}
export interface MessageFrame {
  type: 'message';
  client_id: string;
  content: string;
  model?: string;
  params?: DecodingParams;
  /** The browser's locale ("es-MX"): which country's crisis lines a crisis reply lists. */
  locale?: string;
  /** A photo of the person for this turn's emotion. */
  image?: ImageUpload;
}
export interface CancelFrame {
  type: 'cancel';
  job_id?: string;
}
export interface ResumeFrame {
  type: 'resume';
  job_id: string;
  after?: string;
}
export interface PingFrame {
  type: 'ping';
}
export interface CompareFrame {
  type: 'compare';
  client_id: string;
  content: string;
  model_a?: string;
  model_b?: string;
  params?: DecodingParams;
}

export type ClientFrame = AuthFrame | MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame;

export interface InFlightJob {
  job_id: string;
  user_message_id: number;
}

export interface ReadyFrame {
  type: 'ready';
  protocol: number;
  session_id: string;
  model: string | null;
  in_flight: InFlightJob[];
}
export interface AckFrame {
  type: 'ack';
  client_id: string;
  message_id: number;
  job_id: string;
  duplicate: boolean;
}
export interface EmotionFrame {
  type: 'emotion';
  job_id: string;
  message_id: number;
  emotion: EmotionReading;
  event_id: string;
}
export interface TokenFrame {
  type: 'token';
  job_id: string;
  index: number;
  text: string;
  event_id: string;
}
export interface DoneFrame {
  type: 'done';
  job_id: string;
  message: MessagePublic;
  cached: boolean;
  timings: { ttft_ms: number | null; duration_ms: number | null };
  safety: SafetyVerdict;
  alignment: number | null;
  /** `length`: the reply reached its token limit and was cut back to its last sentence. */
  finish_reason: FinishReason;
  event_id: string;
}
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'safety';
export const ERROR_CODES = [
  'bad_request',
  'bad_image',
  'image_too_large',
  'rate_limited',
  'model_unavailable',
  'busy',
  'not_found',
  'generation_failed',
  'internal',
  'remote_auth',
  'remote_rate_limited',
  'remote_rejected',
  'remote_unavailable',
  'remote_timeout',
  'remote_stream_cut',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  job_id?: string;
  client_id?: string;
}
export interface PongFrame {
  type: 'pong';
}
/** The answer to `cancel`: `running` false means the reply had already finished; nothing was stopped. */
export interface CancelAckFrame {
  type: 'cancel_ack';
  job_id: string;
  running: boolean;
}

// --- comparisons: one message, two models side by side -------------------------------------

export type Slot = 'a' | 'b';
export type ComparisonReplyStatus = 'pending' | 'complete' | 'cancelled' | 'error';

export interface ComparisonReply {
  slot: Slot;
  model: string;
  job_id: string;
  status: ComparisonReplyStatus;
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

export type Preference = Slot | 'tie';

export interface ComparisonPublic {
  id: string;
  session_id: string;
  content: string;
  created_at: string;
  preferred: Preference | null;
  adopted_message_id: number | null;
  replies: ComparisonReply[];
}

export interface CompareAckFrame {
  type: 'compare_ack';
  client_id: string;
  comparison_id: string;
  duplicate: boolean;
  sides: { slot: Slot; model: string; job_id: string }[];
}
export interface CompareEmotionFrame {
  type: 'compare_emotion';
  comparison_id: string;
  slot: Slot;
  job_id: string;
  emotion: EmotionReading;
  event_id: string;
}
export interface CompareTokenFrame {
  type: 'compare_token';
  comparison_id: string;
  slot: Slot;
  job_id: string;
  index: number;
  text: string;
  event_id: string;
}
export interface CompareReplyFrame {
  type: 'compare_reply';
  comparison_id: string;
  slot: Slot;
  job_id: string;
  reply: ComparisonReply;
  event_id: string | null;
}
export interface CompareErrorFrame {
  type: 'compare_error';
  comparison_id: string;
  slot: Slot;
  job_id: string;
  code: ErrorCode;
  message: string;
  event_id?: string;
}
export interface CompareDoneFrame {
  type: 'compare_done';
  comparison: ComparisonPublic;
}

export type CompareServerFrame =
  | CompareAckFrame
  | CompareEmotionFrame
  | CompareTokenFrame
  | CompareReplyFrame
  | CompareErrorFrame
  | CompareDoneFrame;

export type ServerFrame = ReadyFrame | AckFrame | EmotionFrame | TokenFrame | DoneFrame | ErrorFrame | PongFrame | CancelAckFrame | CompareServerFrame;

export const CLOSE_CODES = {
  normal: 1000,
  policy: 1008,
  tooLarge: 1009,
  serverError: 1011,
  unauthorized: 4401,
  sessionNotFound: 4404,
  authTimeout: 4408,
} as const;

// --- runtime mirror, checked against the document by protocol.test.ts ----------------------

type FieldsOf<T> = Exclude<keyof T, 'type'>;
type FieldTable<U extends { type: string }> = { [K in U['type']]: readonly FieldsOf<Extract<U, { type: K }>>[] };

export const CLIENT_FRAME_FIELDS = {
  auth: ['token'],
  message: ['client_id', 'content', 'model', 'params', 'locale', 'image'],
  cancel: ['job_id'],
  resume: ['job_id', 'after'],
  ping: [],
  compare: ['client_id', 'content', 'model_a', 'model_b', 'params'],
} as const satisfies FieldTable<ClientFrame>;

export const SERVER_FRAME_FIELDS = {
  ready: ['protocol', 'session_id', 'model', 'in_flight'],
  ack: ['client_id', 'message_id', 'job_id', 'duplicate'],
  emotion: ['job_id', 'message_id', 'emotion', 'event_id'],
  token: ['job_id', 'index', 'text', 'event_id'],
  done: ['job_id', 'message', 'cached', 'timings', 'safety', 'alignment', 'finish_reason', 'event_id'],
  error: ['code', 'message', 'job_id', 'client_id'],
  pong: [],
  cancel_ack: ['job_id', 'running'],
  compare_ack: ['client_id', 'comparison_id', 'duplicate', 'sides'],
  compare_emotion: ['comparison_id', 'slot', 'job_id', 'emotion', 'event_id'],
  compare_token: ['comparison_id', 'slot', 'job_id', 'index', 'text', 'event_id'],
  compare_reply: ['comparison_id', 'slot', 'job_id', 'reply', 'event_id'],
  compare_error: ['comparison_id', 'slot', 'job_id', 'code', 'message', 'event_id'],
  compare_done: ['comparison'],
} as const satisfies FieldTable<ServerFrame>;

export const RECORD_FIELDS = {
  UserPublic: ['id', 'email', 'display_name', 'role', 'created_at'],
  SessionPublic: ['id', 'title', 'model', 'created_at', 'updated_at'],
  LimitsPublic: ['message_chars', 'journal_chars', 'image_bytes', 'image_types'],
  FusedEmotion: ['source', 'confidence', 'text', 'face', 'face_error'],
  BuildPublic: ['name', 'kind', 'progress', 'eta_s', 'reason'],
  MessagePublic: [
    'id',
    'session_id',
    'role',
    'content',
    'model',
    'cached',
    'status',
    'created_at',
    'client_id',
    'reply_to_id',
    'emotion',
    'alignment',
    'safety',
    'extras',
    'latency_ms',
    'ttft_ms',
    'prompt_tokens',
    'completion_tokens',
  ],
  JournalEntryPublic: ['id', 'text', 'mood', 'mood_scores', 'classifier_version', 'created_at', 'updated_at'],
  RetagProgress: ['state', 'total', 'done', 'classifier_version', 'started_at', 'finished_at'],
  ComparisonPublic: ['id', 'session_id', 'content', 'created_at', 'preferred', 'adopted_message_id', 'replies'],
  ComparisonReply: [
    'slot',
    'model',
    'job_id',
    'status',
    'content',
    'model_version',
    'finish_reason',
    'prompt_tokens',
    'completion_tokens',
    'ttft_ms',
    'duration_ms',
    'user_emotion',
    'reply_emotion',
    'alignment',
    'safety',
    'error_code',
    'error_message',
  ],
} as const satisfies {
  UserPublic: readonly (keyof UserPublic)[];
  SessionPublic: readonly (keyof SessionPublic)[];
  LimitsPublic: readonly (keyof LimitsPublic)[];
  FusedEmotion: readonly (keyof FusedEmotion)[];
  BuildPublic: readonly (keyof BuildPublic)[];
  MessagePublic: readonly (keyof MessagePublic)[];
  JournalEntryPublic: readonly (keyof JournalEntryPublic)[];
  RetagProgress: readonly (keyof RetagProgress)[];
  ComparisonPublic: readonly (keyof ComparisonPublic)[];
  ComparisonReply: readonly (keyof ComparisonReply)[];
};

// `satisfies` above proves every listed field exists; these prove no field is missing.
type Missing<T, Listed> = Exclude<keyof T, Listed | 'type'>;
type AssertNone<T extends never> = T;
export type ProtocolTablesComplete = [
  AssertNone<{ [K in ClientFrame['type']]: Missing<Extract<ClientFrame, { type: K }>, (typeof CLIENT_FRAME_FIELDS)[K][number]> }[ClientFrame['type']]>,
  AssertNone<{ [K in ServerFrame['type']]: Missing<Extract<ServerFrame, { type: K }>, (typeof SERVER_FRAME_FIELDS)[K][number]> }[ServerFrame['type']]>,
  AssertNone<Missing<UserPublic, (typeof RECORD_FIELDS)['UserPublic'][number]>>,
  AssertNone<Missing<SessionPublic, (typeof RECORD_FIELDS)['SessionPublic'][number]>>,
  AssertNone<Missing<LimitsPublic, (typeof RECORD_FIELDS)['LimitsPublic'][number]>>,
  AssertNone<Missing<FusedEmotion, (typeof RECORD_FIELDS)['FusedEmotion'][number]>>,
  AssertNone<Missing<BuildPublic, (typeof RECORD_FIELDS)['BuildPublic'][number]>>,
  AssertNone<Missing<MessagePublic, (typeof RECORD_FIELDS)['MessagePublic'][number]>>,
  AssertNone<Missing<JournalEntryPublic, (typeof RECORD_FIELDS)['JournalEntryPublic'][number]>>,
  AssertNone<Missing<RetagProgress, (typeof RECORD_FIELDS)['RetagProgress'][number]>>,
  AssertNone<Missing<ComparisonPublic, (typeof RECORD_FIELDS)['ComparisonPublic'][number]>>,
  AssertNone<Missing<ComparisonReply, (typeof RECORD_FIELDS)['ComparisonReply'][number]>>,
];
