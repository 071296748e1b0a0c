// Generated from openapi.json by scripts/gen-api.mjs (npm run gen:api): do not edit.
// The REST bodies are the pydantic models of backend/schemas.py, each route's response_model.
export type paths = Record<string, never>;
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** AdminModelPublic */
        AdminModelPublic: {
            /** Chat */
            chat: boolean;
            /** Default */
            default: boolean;
            /** Description */
            description: string | null;
            /** Eta S */
            eta_s: number | null;
            /** Kind */
            kind: string;
            /** Memory Bytes */
            memory_bytes: number | null;
            /** Name */
            name: string;
            /** Progress */
            progress: number | null;
            /** Reason */
            reason: string | null;
            /**
             * State
             * @enum {string}
             */
            state: "available" | "loaded" | "loading" | "building" | "unavailable";
            /** Workers */
            workers: string[];
        };
        /** AuditEntryPublic */
        AuditEntryPublic: {
            /** Action */
            action: string;
            /** Actor Email */
            actor_email: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Details */
            details: {
                [key: string]: unknown;
            } | null;
            /** Id */
            id: number;
            /** Target */
            target: string | null;
        };
        /** AuditPage */
        AuditPage: {
            /** Items */
            items: components["schemas"]["AuditEntryPublic"][];
            /** Total */
            total: number;
        };
        /**
         * BuildPublic
         * @description A model, chat or classifier, that a first run is still building (``GET /api/builds``).
         */
        BuildPublic: {
            /** Eta S */
            eta_s: number | null;
            /** Kind */
            kind: string;
            /** Name */
            name: string;
            /** Progress */
            progress: number;
            /** Reason */
            reason: string | null;
        };
        /** CacheFlushed */
        CacheFlushed: {
            /** Flushed */
            flushed: number;
        };
        /** CacheStats */
        CacheStats: {
            /** Entries */
            entries: number;
            /** Hit Ratio */
            hit_ratio: number;
            /** Hits */
            hits: number;
            /** Misses */
            misses: number;
        };
        /** CompareRequest */
        CompareRequest: {
            /**
             * Client Id
             * @description resend-safe id
             */
            client_id?: string | null;
            /** Content */
            content: string;
            /**
             * Model A
             * @description default: the session's model
             */
            model_a?: string | null;
            /**
             * Model B
             * @description default: the comparison model
             */
            model_b?: string | null;
            params?: components["schemas"]["DecodingParams"] | null;
            /** Session Id */
            session_id: string;
        };
        /** ComparisonList */
        ComparisonList: {
            /** Items */
            items: components["schemas"]["ComparisonPublic"][];
        };
        /** ComparisonPublic */
        ComparisonPublic: {
            /** Adopted Message Id */
            adopted_message_id: number | null;
            /** Content */
            content: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /** Preferred */
            preferred: ("a" | "b" | "tie") | null;
            /** Replies */
            replies: components["schemas"]["ComparisonReplyPublic"][];
            /** Session Id */
            session_id: string;
        };
        /** ComparisonReplyPublic */
        ComparisonReplyPublic: {
            /** Alignment */
            alignment: number | null;
            /** Completion Tokens */
            completion_tokens: number | null;
            /** Content */
            content: string | null;
            /** Duration Ms */
            duration_ms: number | null;
            /** Error Code */
            error_code: string | null;
            /** Error Message */
            error_message: string | null;
            /** Finish Reason */
            finish_reason: string | null;
            /** Job Id */
            job_id: string;
            /** Model */
            model: string;
            /** Model Version */
            model_version: string | null;
            /** Prompt Tokens */
            prompt_tokens: number | null;
            reply_emotion: components["schemas"]["EmotionReading"] | null;
            safety: components["schemas"]["SafetyVerdict"] | null;
            /**
             * Slot
             * @enum {string}
             */
            slot: "a" | "b";
            /**
             * Status
             * @enum {string}
             */
            status: "pending" | "complete" | "cancelled" | "error";
            /** Ttft Ms */
            ttft_ms: number | null;
            user_emotion: components["schemas"]["EmotionReading"] | null;
        };
        /**
         * ControlRequested
         * @description A load or unload was sent to the workers that serve the model; they act on it shortly.
         */
        ControlRequested: {
            /**
             * Status
             * @default requested
             * @constant
             */
            status: "requested";
        };
        /**
         * DecodingParams
         * @description Sampling settings; ``None`` means "the model's own default from the registry" and any value,
         *     0 included, is the client's choice (``top_k`` 0: no top-k cut; ``no_repeat_ngram_size`` 0: off).
         */
        DecodingParams: {
            /** Max New Tokens */
            max_new_tokens?: number | null;
            /** No Repeat Ngram Size */
            no_repeat_ngram_size?: number | null;
            /** Repetition Penalty */
            repetition_penalty?: number | null;
            /** Seed */
            seed?: number | null;
            /** Temperature */
            temperature?: number | null;
            /** Top K */
            top_k?: number | null;
            /** Top P */
            top_p?: number | null;
        };
        /**
         * DefaultModelPublic
         * @description The chat model new sessions get (``PUT /api/admin/default-model``'s answer).
         */
        DefaultModelPublic: {
            /** Model */
            model: string;
        };
        /** DefaultModelUpdate */
        DefaultModelUpdate: {
            /** Model */
            model: string;
        };
        /**
         * EmotionReading
         * @description A classifier's view of one text (or photo): the top label and the full distribution.
         */
        EmotionReading: {
            fusion: components["schemas"]["FusedEmotion"] | null;
            /** Label */
            label: string;
            /** Model */
            model: string | null;
            /** Scores */
            scores: {
                [key: string]: number;
            };
        };
        /**
         * FusedEmotion
         * @description Both readings behind a fused one, so a client can show each (docs/protocol.md, "Photos").
         */
        FusedEmotion: {
            /** Confidence */
            confidence: number;
            face: components["schemas"]["EmotionReading"] | null;
            /** Face Error */
            face_error: string | null;
            /**
             * Source
             * @enum {string}
             */
            source: "fused_aligned" | "fused_conflict" | "text_only";
            text: components["schemas"]["EmotionReading"];
        };
        /** HealthPublic */
        HealthPublic: {
            /**
             * Status
             * @default ok
             * @constant
             */
            status: "ok";
        };
        /** HTTPValidationError */
        HTTPValidationError: {
            /** Detail */
            detail?: components["schemas"]["ValidationError"][];
        };
        /** JournalEntryCreate */
        JournalEntryCreate: {
            /** Text */
            text: string;
        };
        /** JournalEntryList */
        JournalEntryList: {
            /** Items */
            items: components["schemas"]["JournalEntryPublic"][];
            /** Total */
            total: number;
        };
        /** JournalEntryPublic */
        JournalEntryPublic: {
            /** Classifier Version */
            classifier_version: string | null;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: number;
            /** Mood */
            mood: string;
            /** Mood Scores */
            mood_scores: {
                [key: string]: number;
            } | null;
            /** Text */
            text: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /** JournalEntryUpdate */
        JournalEntryUpdate: {
            /** Text */
            text: string;
        };
        /**
         * LimitsPublic
         * @description The lengths the server enforces, in characters (code points), so a client shows the same ones.
         */
        LimitsPublic: {
            /** Image Bytes */
            image_bytes: number;
            /** Image Types */
            image_types: ("image/jpeg" | "image/png" | "image/webp")[];
            /** Journal Chars */
            journal_chars: number;
            /** Message Chars */
            message_chars: number;
        };
        /** MessagePage */
        MessagePage: {
            /** Items */
            items: components["schemas"]["MessagePublic"][];
            /** Next Before */
            next_before: number | null;
        };
        /** MessagePublic */
        MessagePublic: {
            /** Alignment */
            alignment: number | null;
            /** Cached */
            cached: boolean;
            /** Client Id */
            client_id: string | null;
            /** Completion Tokens */
            completion_tokens: number | null;
            /** Content */
            content: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            emotion: components["schemas"]["EmotionReading"] | null;
            /** Extras */
            extras: {
                [key: string]: unknown;
            };
            /** Id */
            id: number;
            /** Latency Ms */
            latency_ms: number | null;
            /** Model */
            model: string | null;
            /** Prompt Tokens */
            prompt_tokens: number | null;
            /** Reply To Id */
            reply_to_id: number | null;
            /**
             * Role
             * @enum {string}
             */
            role: "user" | "assistant";
            safety: components["schemas"]["SafetyVerdict"] | null;
            /** Session Id */
            session_id: string;
            /** Status */
            status: string;
            /** Ttft Ms */
            ttft_ms: number | null;
        };
        /** ModelPublic */
        ModelPublic: {
            /**
             * Default
             * @default false
             */
            default: boolean;
            /** Description */
            description: string | null;
            /** Eta S */
            eta_s: number | null;
            /** Kind */
            kind: string;
            /** Name */
            name: string;
            /** Progress */
            progress: number | null;
            /** Reason */
            reason: string | null;
            /**
             * State
             * @enum {string}
             */
            state: "available" | "loaded" | "loading" | "building" | "unavailable";
        };
        /** MoodBucket */
        MoodBucket: {
            /** Counts */
            counts: {
                [key: string]: number;
            };
            /** Mean Scores */
            mean_scores: {
                [key: string]: number;
            };
            /**
             * Start
             * Format: date
             */
            start: string;
        };
        /** MoodStats */
        MoodStats: {
            /** Buckets */
            buckets: components["schemas"]["MoodBucket"][];
            /** Totals */
            totals: {
                [key: string]: number;
            };
        };
        /** PreferenceUpdate */
        PreferenceUpdate: {
            /**
             * Adopt
             * @description append the message and the chosen reply to the chat (once; ignored for a tie)
             * @default true
             */
            adopt?: boolean;
            /**
             * Choice
             * @enum {string}
             */
            choice: "a" | "b" | "tie";
        };
        /** RetagProgress */
        RetagProgress: {
            /** Classifier Version */
            classifier_version: string | null;
            /**
             * Done
             * @default 0
             */
            done: number;
            /** Finished At */
            finished_at: string | null;
            /** Started At */
            started_at: string | null;
            /**
             * State
             * @enum {string}
             */
            state: "idle" | "running" | "done";
            /**
             * Total
             * @default 0
             */
            total: number;
        };
        /** SafetyVerdict */
        SafetyVerdict: {
            /**
             * Crisis
             * @default false
             */
            crisis: boolean;
            /**
             * Fixed Reply
             * @default false
             */
            fixed_reply: boolean;
            /** Language */
            language: string | null;
            /**
             * Level
             * @default none
             * @enum {string}
             */
            level: "none" | "third_party" | "ideation" | "imminent";
            /** Reasons */
            reasons: string[];
            /** Resources */
            resources: {
                [key: string]: string;
            }[];
            /**
             * Session Risk
             * @default false
             */
            session_risk: boolean;
            /**
             * Toxic
             * @default false
             */
            toxic: boolean;
        };
        /** SessionCreate */
        SessionCreate: {
            /** Model */
            model?: string | null;
            /** Title */
            title?: string | null;
        };
        /** SessionList */
        SessionList: {
            /** Items */
            items: components["schemas"]["SessionPublic"][];
            /** Total */
            total: number;
        };
        /** SessionPublic */
        SessionPublic: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /** Model */
            model: string | null;
            /** Title */
            title: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /** SessionUpdate */
        SessionUpdate: {
            /** Model */
            model?: string | null;
            /** Title */
            title?: string | null;
        };
        /** TokenPublic */
        TokenPublic: {
            /** Access Token */
            access_token: string;
            /**
             * Token Type
             * @default bearer
             * @constant
             */
            token_type: "bearer";
            user: components["schemas"]["UserPublic"];
        };
        /** UserCreate */
        UserCreate: {
            /** Display Name */
            display_name?: string | null;
            /**
             * Email
             * Format: email
             */
            email: string;
            /** Password */
            password: string;
        };
        /** UserLogin */
        UserLogin: {
            /**
             * Email
             * Format: email
             */
            email: string;
            /** Password */
            password: string;
        };
        /** UserPublic */
        UserPublic: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Display Name */
            display_name: string | null;
            /** Email */
            email: string;
            /** Id */
            id: number;
            /**
             * Role
             * @enum {string}
             */
            role: "user" | "admin";
        };
        /** ValidationError */
        ValidationError: {
            /** Context */
            ctx?: Record<string, never>;
            /** Input */
            input?: unknown;
            /** Location */
            loc: (string | number)[];
            /** Message */
            msg: string;
            /** Error Type */
            type: string;
        };
        /** WorkerPublic */
        WorkerPublic: {
            /** Active Jobs */
            active_jobs: number;
            /** Heartbeat Age S */
            heartbeat_age_s: number;
            /** Host */
            host: string;
            /** Loaded */
            loaded: string[];
            /** Models */
            models: string[];
            /** Pid */
            pid: number;
            /** Queue Depth */
            queue_depth: {
                [key: string]: number;
            };
            /** Worker Id */
            worker_id: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
