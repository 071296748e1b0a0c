// The client protocol of docs/protocol.md as TypeScript types.
// The WebSocket frames, and the records they carry (MessagePublic, SafetyVerdict, EmotionReading,
// ComparisonPublic, ...), are generated from the backend's pydantic models: frames.generated.ts
// (from frames.schema.json, `make frames`); this file re-exports them and declares the REST-only
// records by hand. `protocol.test.ts` parses docs/protocol.md and fails when these types drift from
// it; the `*_FIELDS` tables below are the runtime mirror it compares, and the type-level checks at
// the bottom make `tsc` fail when a table and its type disagree.
import type {
  ClientFrame,
  ComparisonPublic,
  ComparisonReplyPublic,
  DoneFrame,
  FusedEmotion,
  ImageUpload,
  MessagePublic,
  SafetyVerdict,
  ServerFrame,
} from './frames.generated';

export type {
  AckFrame,
  AuthFrame,
  CancelAckFrame,
  CancelFrame,
  ClientFrame,
  CompareAckFrame,
  CompareDoneFrame,
  CompareEmotionFrame,
  CompareErrorFrame,
  CompareFrame,
  CompareReplyFrame,
  CompareSide,
  CompareTokenFrame,
  ComparisonPublic,
  DecodingParams,
  DoneFrame,
  DoneTimings,
  EmotionFrame,
  EmotionReading,
  ErrorFrame,
  FusedEmotion,
  ImageUpload,
  InFlightJob,
  MessageFrame,
  MessagePublic,
  PingFrame,
  PongFrame,
  ReadyFrame,
  ResumeFrame,
  SafetyVerdict,
  ServerFrame,
  TokenFrame,
} from './frames.generated';

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

export type FusionSource = FusedEmotion['source'];

export type ImageMediaType = ImageUpload['media_type'];

export type CrisisResource = SafetyVerdict['resources'][number];

/** imminent and ideation: the writer is at risk; third_party: they are worried about someone else. */
export type SafetyLevel = SafetyVerdict['level'];

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

// --- WebSocket frames (the types are generated, re-exported above) ---------------------------

/** `length`: the reply reached its token limit and was cut back to its last sentence. */
export type FinishReason = DoneFrame['finish_reason'];

/** The codes docs/protocol.md lists; an `error` frame's `code` is any string (a worker may add one). */
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

// --- comparisons: one message, two models side by side -------------------------------------

export type Slot = ComparisonReplyPublic['slot'];
export type ComparisonReplyStatus = ComparisonReplyPublic['status'];

/** One side of a comparison (`ComparisonReplyPublic` in the backend). */
export type ComparisonReply = ComparisonReplyPublic;

export type Preference = NonNullable<ComparisonPublic['preferred']>;

/** The frames of a comparison: `compare_ack`, each side's `compare_*`, then `compare_done`. */
export type CompareServerFrame = Extract<ServerFrame, { type: `compare_${string}` }>;

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
  error: ['code', 'message', 'job_id', 'client_id', 'message_id', 'event_id'],
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
