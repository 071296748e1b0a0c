// Generated from openapi.json by scripts/gen-api.mjs (npm run gen:api): do not edit.
// The REST bodies are the pydantic models of backend/schemas.py, each route's response_model.
export interface paths {
    "/api/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Audit */
        get: operations["read_audit_api_admin_audit_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/cache": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Cache Stats */
        get: operations["read_cache_stats_api_admin_cache_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/cache/flush": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Flush Cache */
        post: operations["flush_cache_api_admin_cache_flush_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/default-model": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Set Default Model */
        put: operations["set_default_model_api_admin_default_model_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/journal/retag": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Retag */
        get: operations["read_retag_api_admin_journal_retag_get"];
        put?: never;
        /** Start Retag */
        post: operations["start_retag_api_admin_journal_retag_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Models */
        get: operations["list_models_api_admin_models_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/models/{name}/load": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Load Model */
        post: operations["load_model_api_admin_models__name__load_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/models/{name}/unload": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Unload Model */
        post: operations["unload_model_api_admin_models__name__unload_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/admin/workers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Workers */
        get: operations["list_workers_api_admin_workers_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Log In */
        post: operations["log_in_api_auth_login_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Me */
        get: operations["read_me_api_auth_me_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sign Up */
        post: operations["sign_up_api_auth_signup_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/builds": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Builds
         * @description What a page waiting on a model shows meanwhile: the journal, while its mood classifier is built.
         */
        get: operations["list_builds_api_builds_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/compare": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Comparisons */
        get: operations["list_comparisons_api_compare_get"];
        put?: never;
        /** Compare */
        post: operations["compare_api_compare_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/compare/{comparison_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Comparison */
        get: operations["read_comparison_api_compare__comparison_id__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/compare/{comparison_id}/preference": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /** Set Preference */
        put: operations["set_preference_api_compare__comparison_id__preference_put"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/compare/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Export Comparisons */
        get: operations["export_comparisons_api_compare_export_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/journal": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Entries */
        get: operations["list_entries_api_journal_get"];
        put?: never;
        /** Create Entry */
        post: operations["create_entry_api_journal_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/journal/{entry_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Entry */
        get: operations["read_entry_api_journal__entry_id__get"];
        put?: never;
        post?: never;
        /** Delete Entry */
        delete: operations["delete_entry_api_journal__entry_id__delete"];
        options?: never;
        head?: never;
        /** Update Entry */
        patch: operations["update_entry_api_journal__entry_id__patch"];
        trace?: never;
    };
    "/api/journal/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Export Entries */
        get: operations["export_entries_api_journal_export_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/journal/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Stats */
        get: operations["read_stats_api_journal_stats_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/limits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Limits */
        get: operations["read_limits_api_limits_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Models */
        get: operations["list_models_api_models_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List Sessions */
        get: operations["list_sessions_api_sessions_get"];
        put?: never;
        /** Create Session */
        post: operations["create_session_api_sessions_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sessions/{session_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Session */
        get: operations["read_session_api_sessions__session_id__get"];
        put?: never;
        post?: never;
        /** Delete Session */
        delete: operations["delete_session_api_sessions__session_id__delete"];
        options?: never;
        head?: never;
        /** Update Session */
        patch: operations["update_session_api_sessions__session_id__patch"];
        trace?: never;
    };
    "/api/sessions/{session_id}/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read History */
        get: operations["read_history_api_sessions__session_id__messages_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Read Health */
        get: operations["read_health_healthz_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read Readiness
         * @description Ready when what a turn needs is really there: the database, Redis, a consumer group on
         *     the results stream and on every live worker's jobs streams, and a worker's recent heartbeat.
         *     ``building`` lists the models a first run is still building, with their progress.
         */
        get: operations["read_readiness_readyz_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
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
export interface operations {
    read_audit_api_admin_audit_get: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditPage"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_cache_stats_api_admin_cache_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CacheStats"];
                };
            };
        };
    };
    flush_cache_api_admin_cache_flush_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CacheFlushed"];
                };
            };
        };
    };
    set_default_model_api_admin_default_model_put: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DefaultModelUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DefaultModelPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_retag_api_admin_journal_retag_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RetagProgress"];
                };
            };
        };
    };
    start_retag_api_admin_journal_retag_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RetagProgress"];
                };
            };
        };
    };
    list_models_api_admin_models_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdminModelPublic"][];
                };
            };
        };
    };
    load_model_api_admin_models__name__load_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ControlRequested"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    unload_model_api_admin_models__name__unload_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ControlRequested"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_workers_api_admin_workers_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkerPublic"][];
                };
            };
        };
    };
    log_in_api_auth_login_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserLogin"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_me_api_auth_me_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserPublic"];
                };
            };
        };
    };
    sign_up_api_auth_signup_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_builds_api_builds_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BuildPublic"][];
                };
            };
        };
    };
    list_comparisons_api_compare_get: {
        parameters: {
            query?: {
                limit?: number;
                session_id?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ComparisonList"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    compare_api_compare_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CompareRequest"];
            };
        };
        responses: {
            /** @description compare_ack, then both sides' frames, then compare_done */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/x-ndjson": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_comparison_api_compare__comparison_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                comparison_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ComparisonPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    set_preference_api_compare__comparison_id__preference_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                comparison_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PreferenceUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ComparisonPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    export_comparisons_api_compare_export_get: {
        parameters: {
            query?: {
                /** @description all: every user's (administrators only) */
                scope?: "mine" | "all";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description one comparison per line, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/jsonl": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    list_entries_api_journal_get: {
        parameters: {
            query?: {
                limit?: number;
                mood?: ("joy" | "sadness" | "fear" | "anger" | "love" | "surprise" | "pending") | null;
                offset?: number;
                q?: string | null;
                since?: string | null;
                until?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JournalEntryList"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    create_entry_api_journal_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["JournalEntryCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JournalEntryPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_entry_api_journal__entry_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                entry_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JournalEntryPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    delete_entry_api_journal__entry_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                entry_id: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    update_entry_api_journal__entry_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                entry_id: number;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["JournalEntryUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JournalEntryPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    export_entries_api_journal_export_get: {
        parameters: {
            query?: {
                format?: "csv" | "json";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description every entry, oldest first, as an attachment (csv by default) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                    "text/csv": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_stats_api_journal_stats_get: {
        parameters: {
            query?: {
                bucket?: "day" | "week";
                since?: string | null;
                until?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MoodStats"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_limits_api_limits_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LimitsPublic"];
                };
            };
        };
    };
    list_models_api_models_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ModelPublic"][];
                };
            };
        };
    };
    list_sessions_api_sessions_get: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionList"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    create_session_api_sessions_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SessionCreate"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_session_api_sessions__session_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    delete_session_api_sessions__session_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    update_session_api_sessions__session_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SessionUpdate"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SessionPublic"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_history_api_sessions__session_id__messages_get: {
        parameters: {
            query?: {
                before?: number | null;
                limit?: number;
            };
            header?: never;
            path: {
                session_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessagePage"];
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
        };
    };
    read_health_healthz_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthPublic"];
                };
            };
        };
    };
    read_readiness_readyz_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
        };
    };
}
