CREATE TABLE `endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`base_url` text NOT NULL,
	`model` text NOT NULL,
	`api_key_enc` text,
	`max_concurrency` integer DEFAULT 4 NOT NULL,
	`requests_per_minute` integer DEFAULT 60 NOT NULL,
	`logprobs` integer DEFAULT false NOT NULL,
	`system_prompt` text,
	`base_endpoint_id` text,
	`constitution` text,
	`revision` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `endpoints_name_live` ON `endpoints` (`name`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE TABLE `responses` (
	`unit_id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`model` text NOT NULL,
	`request` text NOT NULL,
	`raw` text NOT NULL,
	`answer` text,
	`parsed` text NOT NULL,
	`score` real,
	`latency_ms` integer NOT NULL,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `responses_run` ON `responses` (`run_id`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` text NOT NULL,
	`endpoint_revision` text NOT NULL,
	`suite_version_ids` text NOT NULL,
	`samples_per_item` integer NOT NULL,
	`temperature` real NOT NULL,
	`seed` integer NOT NULL,
	`item_limit` integer,
	`scoring_mode` text NOT NULL,
	`expected_units` integer NOT NULL,
	`status` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`completed_at` text
);
--> statement-breakpoint
CREATE INDEX `runs_endpoint` ON `runs` (`endpoint_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `suite_items` (
	`suite_version_id` text NOT NULL,
	`item_key` text NOT NULL,
	`position` integer NOT NULL,
	`dimension` text NOT NULL,
	`keying` text NOT NULL,
	`payload` text NOT NULL,
	PRIMARY KEY(`suite_version_id`, `item_key`)
);
--> statement-breakpoint
CREATE INDEX `suite_items_position` ON `suite_items` (`suite_version_id`,`position`);--> statement-breakpoint
CREATE TABLE `suite_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`suite_id` text NOT NULL,
	`content_hash` text NOT NULL,
	`source` text NOT NULL,
	`item_count` integer NOT NULL,
	`meta` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `suite_versions_suite` ON `suite_versions` (`suite_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `suites` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `units` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`kind` text NOT NULL,
	`parent_id` text,
	`suite_version_id` text NOT NULL,
	`item_key` text NOT NULL,
	`sample_index` integer NOT NULL,
	`stage` integer DEFAULT 0 NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `units_run_status` ON `units` (`run_id`,`status`);