-- Issue 15 (a million-unit run): raw answers move to R2 (binding RAW, one gzip JSONL object per write). A response
-- row keeps the object's key and line (raw_key, raw_line) instead of the request and the raw completion, so
-- `request` and `raw` become nullable; rows written before this migration keep them and are read as they are.
-- SQLite cannot drop NOT NULL in place: the table is rebuilt (create, copy, drop, rename) with its index.
CREATE TABLE `responses_new` (
	`unit_id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`model` text NOT NULL,
	`request` text,
	`raw` text,
	`raw_key` text,
	`raw_line` integer,
	`answer` text,
	`parsed` text NOT NULL,
	`score` real,
	`latency_ms` integer NOT NULL,
	`prompt_tokens` integer,
	`completion_tokens` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
INSERT INTO `responses_new` (`unit_id`, `run_id`, `endpoint_id`, `model`, `request`, `raw`, `answer`, `parsed`, `score`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `created_at`)
SELECT `unit_id`, `run_id`, `endpoint_id`, `model`, `request`, `raw`, `answer`, `parsed`, `score`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `created_at` FROM `responses`;
--> statement-breakpoint
DROP TABLE `responses`;
--> statement-breakpoint
ALTER TABLE `responses_new` RENAME TO `responses`;
--> statement-breakpoint
CREATE INDEX `responses_run_scores` ON `responses` (`run_id`,`unit_id`,`score`);
