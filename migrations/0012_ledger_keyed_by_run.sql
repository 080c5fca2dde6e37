-- Issue 15 (cost per 10,000 judgments under $0.05): D1 bills every row written, index entries included. Before this
-- migration a persona unit wrote 8 rows: its planned row 3 (the row, its text key's second B-tree, units_run_status),
-- its lease 1, its response 2 (the row, responses_run_scores), marking it done 2 (the row, the status index moving).
-- Both ledger tables are now WITHOUT ROWID tables keyed by (run_id, id): a run's rows are one range of the primary
-- key, so no secondary index is needed to find them, and every write is one row. A unit writes 4 rows: planned 1,
-- lease 1, response 1, done 1 (test/integration/d1-row-budget.test.ts pins each).
-- What changes for readers: a run's units are read in unit-id order (the primary key), no longer in rowid (plan) order,
-- and a lookup by unit id names its run too. units_parent stays (partial: follow-up units only).
CREATE TABLE `units_new` (
	`run_id` text NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`parent_id` text,
	`suite_version_id` text NOT NULL,
	`item_key` text NOT NULL,
	`sample_index` integer NOT NULL,
	`stage` integer DEFAULT 0 NOT NULL,
	`variant` text DEFAULT '' NOT NULL,
	`judge` text,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`parse_retries` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	`lease_id` text,
	`lease_until` text,
	PRIMARY KEY (`run_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `units_new` (`run_id`, `id`, `kind`, `parent_id`, `suite_version_id`, `item_key`, `sample_index`, `stage`, `variant`, `judge`, `status`, `attempts`, `parse_retries`, `last_error`, `created_at`, `updated_at`, `lease_id`, `lease_until`)
  SELECT `run_id`, `id`, `kind`, `parent_id`, `suite_version_id`, `item_key`, `sample_index`, `stage`, `variant`, `judge`, `status`, `attempts`, `parse_retries`, `last_error`, `created_at`, `updated_at`, `lease_id`, `lease_until` FROM `units`;
--> statement-breakpoint
DROP TABLE `units`;
--> statement-breakpoint
ALTER TABLE `units_new` RENAME TO `units`;
--> statement-breakpoint
CREATE INDEX `units_parent` ON `units` (`parent_id`) WHERE `parent_id` IS NOT NULL;
--> statement-breakpoint
CREATE TABLE `responses_new` (
	`run_id` text NOT NULL,
	`unit_id` text NOT NULL,
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
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL,
	PRIMARY KEY (`run_id`, `unit_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `responses_new` (`run_id`, `unit_id`, `endpoint_id`, `model`, `request`, `raw`, `raw_key`, `raw_line`, `answer`, `parsed`, `score`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `created_at`)
  SELECT `run_id`, `unit_id`, `endpoint_id`, `model`, `request`, `raw`, `raw_key`, `raw_line`, `answer`, `parsed`, `score`, `latency_ms`, `prompt_tokens`, `completion_tokens`, `created_at` FROM `responses`;
--> statement-breakpoint
DROP TABLE `responses`;
--> statement-breakpoint
ALTER TABLE `responses_new` RENAME TO `responses`;
