// The client protocol of docs/protocol.md as TypeScript types, all generated from the backend's
// pydantic models (`make frames`): the WebSocket frames, and the records they carry (MessagePublic,
// SafetyVerdict, EmotionReading, ComparisonPublic, ...), from frames.generated.ts (frames.schema.json);
// the REST bodies from api.generated.ts (openapi.json, the app's OpenAPI schema). This file
// re-exports the one and aliases the other under the names the app imports. `protocol.test.ts`
// parses docs/protocol.md and fails when these types drift from it; the `*_FIELDS` tables below
// are the runtime mirror it compares, and the type-level checks at the bottom make `tsc` fail when
// a table and its type disagree.
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
import type { components } from './api.generated';

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

// --- REST bodies (generated from the OpenAPI schema, aliased here) ---------------------------

/** Every REST body by its backend name: the pydantic models of backend/schemas.py. */
type Schemas = components['schemas'];

export type UserPublic = Schemas['UserPublic'];
export type Role = UserPublic['role'];
export type TokenPublic = Schemas['TokenPublic'];
export type UserLogin = Schemas['UserLogin'];
export type UserCreate = Schemas['UserCreate'];

/** The body of every 4xx but a validation error (`422`, FastAPI's `{detail: [...]}`): an
 * HTTPException's (backend/deps.py api_error), which the OpenAPI schema does not declare. */
export interface ErrorBody {
  detail: { code: string; message: string };
}

export type FusionSource = FusedEmotion['source'];

export type ImageMediaType = ImageUpload['media_type'];

export type CrisisResource = SafetyVerdict['resources'][number];

/** imminent and ideation: the writer is at risk; third_party: they are worried about someone else. */
export type SafetyLevel = SafetyVerdict['level'];

export type SessionPublic = Schemas['SessionPublic'];
export type SessionList = Schemas['SessionList'];
export type SessionCreate = Schemas['SessionCreate'];
export type SessionUpdate = Schemas['SessionUpdate'];
export type MessagePage = Schemas['MessagePage'];

/** The lengths the server enforces, in characters (code points, as the server counts them);
 * `image_bytes`: the largest photo a message may carry, decoded, in bytes (0: photos are off). */
export type LimitsPublic = Schemas['LimitsPublic'];

export type ModelPublic = Schemas['ModelPublic'];
/** While `building`, a model's `progress` (the share done, 0..1) and `eta_s` (seconds left) are set. */
export type ModelState = ModelPublic['state'];

/** A model, chat or classifier, that a first run is still building (GET /api/builds). */
export type BuildPublic = Schemas['BuildPublic'];

export const MOODS = ['joy', 'sadness', 'fear', 'anger', 'love', 'surprise'] as const;
export type Mood = (typeof MOODS)[number];

/** `mood`: one of MOODS once tagged, `pending` until the classifier has read the entry. */
export type JournalEntryPublic = Schemas['JournalEntryPublic'];
export type JournalList = Schemas['JournalEntryList'];
export type JournalStatsBucket = Schemas['MoodBucket'];
export type JournalStats = Schemas['MoodStats'];
export type JournalEntryCreate = Schemas['JournalEntryCreate'];
export type JournalEntryUpdate = Schemas['JournalEntryUpdate'];

/** `chat`: answers chat turns (classifiers and the face model do not): only these can be the default. */
export type AdminModel = Schemas['AdminModelPublic'];
export type ControlRequested = Schemas['ControlRequested'];
export type DefaultModelUpdate = Schemas['DefaultModelUpdate'];
export type DefaultModelPublic = Schemas['DefaultModelPublic'];
export type WorkerPublic = Schemas['WorkerPublic'];
export type CacheStats = Schemas['CacheStats'];
export type CacheFlushed = Schemas['CacheFlushed'];
export type RetagProgress = Schemas['RetagProgress'];
export type AuditEntry = Schemas['AuditEntryPublic'];
export type AuditList = Schemas['AuditPage'];

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
export type PreferenceUpdate = components['schemas']['PreferenceUpdate'];

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
